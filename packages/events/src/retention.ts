import { statement } from "@shopmesh/pg";
import type pg from "pg";
import type { Logger } from "pino";
import { deadLetterMaxAgeDays, eventMaxAgeDays } from "./streams.js";

/**
 * Days an inbox row must outlive the outbox's retention, so that no copy of an event
 * finds its consumer's inbox has forgotten it. The latest copy: the outbox row
 * re-published at the end of the outbox's retention; met by a consumer up to the
 * streams' age behind, and parked; replayed at the end of the dead-letter stream's
 * age — to every consumer of its subject, those that applied it first included; met
 * by one of those up to the streams' age behind. One day more for the pruning's own
 * period and clocks.
 */
export const inboxOutlivesOutboxDays = eventMaxAgeDays + deadLetterMaxAgeDays + eventMaxAgeDays + 1;

/** How long a service keeps its event bookkeeping. */
export interface EventRetention {
  /**
   * Published outbox rows, by when they were written: the range `outbox:republish` can
   * still send again after a JetStream loss. Longer than the streams keep events (7 days).
   */
  readonly outboxMs: number;
  /**
   * Inbox rows, by when their event was applied. A copy of an event that arrives later
   * is applied again, so this outlives every way a copy can come back: redeliveries and
   * re-publications of the outbox range kept, and replays of dead letters (kept 30 days).
   */
  readonly inboxMs: number;
}

/** Rows removed by one statement: short transactions, and replicas pruning together skip each other's rows. */
const defaultChunk = 5_000;

/**
 * The oldest rows of the outbox by id (which follows the order rows were written in)
 * after the chunk before, and of those the ones published before the cutoff removed.
 * The chunk says whether it reached a row written after the cutoff: then nothing older
 * is left — a filter on age in the scan would read every recent row to fill its last
 * chunk. An unpublished row is never removed (the relay still owes it), however old.
 * Only removed rows are locked: the relay marks recent rows published meanwhile.
 */
const pruneOutboxChunk = statement<{ removed: number; reached_recent: boolean; last_id: string | null }>(
  "events.outbox-prune",
  `WITH oldest AS (
     SELECT id, created_at, published_at FROM outbox WHERE id > $3 ORDER BY id LIMIT $2
   ), removed AS (
     DELETE FROM outbox o USING oldest
      WHERE o.id = oldest.id AND oldest.published_at IS NOT NULL AND oldest.created_at < $1
     RETURNING o.id
   )
   SELECT (SELECT count(*)::int FROM removed) AS removed,
          coalesce((SELECT bool_or(created_at >= $1) FROM oldest), true) AS reached_recent,
          (SELECT max(id) FROM oldest)::text AS last_id`,
);

/** The inbox rows applied before the cutoff, oldest first, through their own index. */
const pruneInboxChunk = statement<{ removed: number }>(
  "events.inbox-prune",
  `WITH removed AS (
     DELETE FROM inbox WHERE (consumer, event_id) IN (
       SELECT consumer, event_id FROM inbox WHERE processed_at < $1
        ORDER BY processed_at LIMIT $2 FOR UPDATE SKIP LOCKED)
     RETURNING 1
   )
   SELECT count(*)::int AS removed FROM removed`,
);

/** What one pruning removed. */
export interface Pruned {
  readonly outbox: number;
  readonly inbox: number;
}

/**
 * Removes outbox rows published, and inbox rows applied, longer ago than `retention`
 * says, a chunk at a time until none is left (or `signal` aborts). Safe with every
 * replica of a service pruning at once.
 */
export async function pruneEvents(
  pool: pg.Pool,
  retention: EventRetention,
  { chunk = defaultChunk, signal }: { chunk?: number; signal?: AbortSignal } = {},
): Promise<Pruned> {
  const now = Date.now();
  const outboxCutoff = new Date(now - retention.outboxMs);
  const inboxCutoff = new Date(now - retention.inboxMs);
  let outbox = 0;
  // Each chunk starts after the last row the one before read: rows the relay still owes
  // are passed once, not read again at the head of every chunk (nor do they stop it).
  let after = "0";
  for (;;) {
    if (signal?.aborted) break;
    const { rows } = await pruneOutboxChunk(pool, [outboxCutoff, chunk, after]);
    outbox += rows[0]?.removed ?? 0;
    const lastId = rows[0]?.last_id;
    if (rows[0]?.reached_recent || !lastId) break;
    after = lastId;
  }
  let inbox = 0;
  for (;;) {
    if (signal?.aborted) break;
    const { rows } = await pruneInboxChunk(pool, [inboxCutoff, chunk]);
    const removed = rows[0]?.removed ?? 0;
    inbox += removed;
    if (removed < chunk) break;
  }
  return { outbox, inbox };
}

/** A pruning that runs every `everyMs` until stopped. */
export interface EventPruner {
  /** Stops the timer and waits for a pruning under way to end its current chunk. */
  stop(): Promise<void>;
}

/**
 * Prunes the service's outbox and inbox (see {@link pruneEvents}) a minute after start,
 * then every `everyMs`; a failure (the database unavailable) is logged and tried again
 * at the next turn.
 */
export function startEventPruner(options: {
  readonly pool: pg.Pool;
  readonly retention: EventRetention;
  readonly logger: Logger;
  readonly everyMs: number;
  readonly firstAfterMs?: number;
}): EventPruner {
  const stopping = new AbortController();
  const prune = async () => {
    if (stopping.signal.aborted) return;
    try {
      const pruned = await pruneEvents(options.pool, options.retention, { signal: stopping.signal });
      if (pruned.outbox + pruned.inbox > 0) options.logger.info(pruned, "pruned outbox and inbox rows");
    } catch (error) {
      options.logger.warn({ err: error }, "pruning outbox and inbox rows failed");
    }
  };
  // One pruning at a time: a long one (the first on a large table) is not run twice at once.
  let running: Promise<void> = Promise.resolve();
  const turn = () => {
    running = running.then(prune);
  };
  const first = setTimeout(turn, options.firstAfterMs ?? 60_000);
  const every = setInterval(turn, options.everyMs);
  first.unref();
  every.unref();
  return {
    async stop() {
      clearTimeout(first);
      clearInterval(every);
      stopping.abort();
      await running;
    },
  };
}
