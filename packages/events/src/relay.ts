import type { JetStreamClient } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { statement } from "@shopmesh/pg";
import { startPublish } from "@shopmesh/telemetry";
import type pg from "pg";
import type { Logger } from "pino";
import { createMarkQueue } from "./mark-queue.js";
import type { WrittenOutboxRow } from "./outbox.js";

/** What the relay needs. */
export interface OutboxRelayOptions {
  readonly pool: pg.Pool;
  readonly js: JetStreamClient;
  readonly logger: Logger;
  /** Rows claimed and published at once (default 256). */
  readonly batchSize?: number;
  /** Poll interval for rows nobody handed over: a crashed writer's, a failed publish's (default 1 s). */
  readonly fallbackPollMs?: number;
  /** How long handed-over rows wait, once published, to be marked together (default 100 ms). */
  readonly markDelayMs?: number;
  /**
   * How long claimed rows are reserved for the relay that claimed them (default 30 s):
   * another relay takes them over after. Keep it well inside the streams' 2-minute
   * duplicate window, which is what drops the copy a late relay still sends.
   */
  readonly leaseMs?: number;
}

/** A running relay. */
export interface OutboxRelay {
  /**
   * Publishes rows this process has just committed, now, and marks them published
   * shortly after (see {@link Outbox.written}; their insert claimed them for the
   * writer, so no other relay takes them meanwhile).
   */
  handOff(rows: readonly WrittenOutboxRow[]): void;
  /** Finishes the publishes in flight, marks what it published, and stops. */
  stop(): Promise<void>;
}

/** An outbox row to publish. */
export interface OutboxMessageRow {
  id: string;
  event_id: string;
  subject: string;
  event_type: string;
  payload: Uint8Array;
  headers: Record<string, string>;
  created_at: Date;
}

/**
 * How long after its preparation a handed-over row may still be published (ms). A
 * writer stalled longer (paused, starved, a frozen VM) leaves the row to a relay's
 * poll, once the writer's claim has ended: two publishes of a row must fall inside the
 * streams' 2-minute duplicate window for JetStream to drop the second.
 */
const handOffLimitMs = 60_000;

/**
 * Publishes committed outbox rows to JetStream. The process that commits rows hands
 * them over at once ({@link OutboxRelay.handOff}): they are published from memory,
 * with no statement before the publish, and marked published together a moment later
 * (`markDelayMs`). A slow poll claims what nobody handed over — rows of a writer that
 * crashed after its commit, once its claim ends, or whose publish failed — with a lease
 * (`FOR UPDATE SKIP LOCKED`, so any number of replicas share the table), publishes a
 * batch with every publish in flight at once, and marks the rows with its next claim.
 * Every publish carries `Nats-Msg-Id` = the outbox id: JetStream drops a duplicate
 * inside its window. A failed publish releases the rows for the next poll.
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const batchSize = options.batchSize ?? 256;
  const fallbackPollMs = options.fallbackPollMs ?? 1_000;
  const markDelayMs = options.markDelayMs ?? 100;
  let running = true;
  let wake: (() => void) | undefined;
  let pending = false;
  const notify = () => {
    pending = true;
    wake?.();
  };
  let markTimer: NodeJS.Timeout | undefined;
  const scheduleMark = () => {
    markTimer ??= setTimeout(() => {
      markTimer = undefined;
      notify();
    }, markDelayMs);
  };

  // Rows published but not yet marked: the next claim marks them in the same statement,
  // a bounded number of them, the rest in the rounds after.
  const unmarked = createMarkQueue(markLimit);
  const handOffs = new Set<Promise<void>>();
  /** One claim (marking what was published), its publishes; answers whether to go on at once. */
  const relayRound = async () => {
    pending = false;
    const marking = unmarked.take();
    try {
      // A backlog (marking failed for a while) is marked first, a chunk a statement, with
      // no claim: a claim leaves out only the rows it marks, and would take the rest of
      // the backlog — published rows whose writer's claim has ended — and publish them
      // again, past the duplicate window if the failure lasted.
      if (unmarked.size > 0) {
        await markPublished(options.pool, [marking]);
        return true;
      }
      const published = await relayBatch(options, batchSize, marking);
      unmarked.add(published);
      return published.length === batchSize || unmarked.size >= markLimit;
    } catch (error) {
      unmarked.putBack(marking);
      options.logger.warn({ err: error }, "outbox relay batch failed; will retry");
      return false;
    }
  };
  const loop = (async () => {
    while (running) {
      if ((await relayRound()) || pending || !running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, fallbackPollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  })();

  return {
    handOff(rows) {
      if (!running) {
        options.logger.info(
          { rows: rows.length },
          "outbox rows committed after the relay stopped; a relay's poll publishes them when the writer's claim ends",
        );
        return;
      }
      const now = performance.now();
      const fresh = rows.filter((row) => now - row.preparedAt < handOffLimitMs);
      if (fresh.length < rows.length) {
        options.logger.warn(
          { rows: rows.length - fresh.length },
          "outbox rows handed over too late to publish; leaving them to a relay's poll",
        );
      }
      if (fresh.length === 0) return;
      const publishing = publishRows(options.js, fresh.map(messageRow)).then(async (result) => {
        unmarked.add(result.ids);
        if (result.ids.length > 0) scheduleMark();
        await releaseUnpublished(options, fresh, result);
      });
      handOffs.add(publishing);
      void publishing.finally(() => handOffs.delete(publishing));
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
      await Promise.all(handOffs);
      clearTimeout(markTimer);
      try {
        for (let marking = unmarked.take(); marking.length > 0; marking = unmarked.take()) {
          await markPublished(options.pool, [marking]);
        }
      } catch (error) {
        options.logger.warn({ err: error }, "outbox rows published but not marked; they will be re-sent");
      }
    },
  };
}

/** Published rows marked by one statement at most. */
const markLimit = 5_000;

/** A handed-over row as the publish takes it. */
function messageRow(row: WrittenOutboxRow): OutboxMessageRow {
  return {
    id: row.id,
    event_id: row.eventId,
    subject: row.subject,
    event_type: row.eventType,
    payload: row.payload,
    headers: row.headers,
    // What the publish latency is measured from: about when its transaction ran, on the
    // wall clock the latency is read on. (timeOrigin + preparedAt is another clock, which
    // drifts from Date.now() by milliseconds: the latency of a row published at once
    // came out negative, and the metrics SDK printed a warning for each.)
    created_at: new Date(Date.now() - (performance.now() - row.preparedAt)),
  };
}

/**
 * A claim answered this close to its lease's end (ms) is not published: by the time the
 * publishes reach JetStream another relay may own the rows.
 */
const leaseMarginMs = 5_000;

/** Marks the rows of the previous batch published ($3) and claims the next batch, in one statement. */
const markAndClaim = statement<OutboxMessageRow>(
  "events.outbox-mark-and-claim",
  `WITH marked AS (
     UPDATE outbox SET published_at = now() WHERE id = ANY($3::bigint[])
   )
   UPDATE outbox SET claimed_until = now() + make_interval(secs => $2)
    WHERE id IN (SELECT id FROM outbox
                  WHERE published_at IS NULL AND (claimed_until IS NULL OR claimed_until < now())
                    AND id <> ALL($3::bigint[])
                  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING id, event_id, subject, event_type, payload, headers, created_at`,
);
const releaseClaims = statement(
  "events.outbox-release",
  "UPDATE outbox SET claimed_until = NULL WHERE id = ANY($1::bigint[])",
);
const markPublished = statement(
  "events.outbox-mark-published",
  "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
);

/**
 * Marks the previous batch published and claims unpublished rows with a lease (one
 * statement, no transaction held open while publishing), then publishes them and
 * answers their ids — for the next call to mark. A relay that dies after publishing
 * leaves its rows to be re-published when the lease ends — within JetStream's
 * 2-minute duplicate window, so the stream drops the copies.
 */
async function relayBatch(
  { pool, js, logger, leaseMs = 30_000 }: OutboxRelayOptions,
  batchSize: number,
  published: readonly string[],
): Promise<string[]> {
  const asked = performance.now();
  const { rows } = await markAndClaim(pool, [batchSize, leaseMs / 1000, published]);
  if (rows.length === 0) return [];
  // A relay stalled (paused, starved, a frozen VM) between its claim and its publishes
  // would publish rows another relay has taken over, and past the duplicate window its
  // copies would stay on the stream. The lease ends; the rows are another relay's turn.
  if (performance.now() - asked > leaseMs - Math.min(leaseMarginMs, leaseMs / 2)) {
    logger.warn({ rows: rows.length }, "outbox claim answered too late to publish; leaving the rows to the next claim");
    return [];
  }
  rows.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
  const result = await publishRows(js, rows);
  await releaseUnpublished({ pool, logger }, rows, result);
  return result.ids;
}

/**
 * Releases the claims of the rows a publish did not get onto the stream, for a relay's
 * next claim: the others are marked, so a row that keeps failing holds back neither
 * the rest of its batch nor the rows behind it.
 */
async function releaseUnpublished(
  { pool, logger }: Pick<OutboxRelayOptions, "pool" | "logger">,
  rows: readonly { readonly id: string }[],
  { ids, failure }: PublishedRows,
): Promise<void> {
  if (!failure) return;
  const published = new Set(ids);
  const failed = rows.filter((row) => !published.has(row.id)).map((row) => row.id);
  logger.warn(
    { err: failure.error, rows: failed.length },
    "outbox publish failed; a relay's next claim retries the rows",
  );
  await releaseClaims(pool, [failed]).catch((error: unknown) => {
    logger.warn({ err: error }, "outbox rows not released; they are retried when their claim ends");
  });
}

/** What publishing rows achieved: the ids JetStream acknowledged, and a failure if any row had one. */
export interface PublishedRows {
  readonly ids: string[];
  /** The first row whose publish failed, and why. */
  readonly failure?: { readonly error: unknown; readonly id: string; readonly subject: string };
}

/**
 * Publishes rows concurrently, each with its outbox id as `Nats-Msg-Id`, in a producer
 * span that continues the trace of the transaction that wrote the row. Every publish is
 * waited for, failed or not, so that the caller knows which rows reached the stream.
 */
export async function publishRows(js: JetStreamClient, rows: readonly OutboxMessageRow[]): Promise<PublishedRows> {
  const settled = await Promise.allSettled(
    rows.map(async (row) => {
      const orderId = row.headers["Shopmesh-Key"];
      const route = {
        subject: row.subject,
        messageId: row.id,
        eventId: row.event_id,
        eventType: row.event_type,
        orderId,
      };
      const traced = startPublish(route, row.headers, row.created_at);
      const headers = natsHeaders();
      for (const [key, value] of Object.entries(traced.headers)) headers.set(key, value);
      headers.set("Shopmesh-Event-Id", row.event_id);
      headers.set("Shopmesh-Event-Type", row.event_type);
      try {
        const ack = await js.publish(row.subject, row.payload, { msgID: row.id, headers });
        traced.end(undefined, ack.duplicate);
      } catch (error) {
        traced.end(error);
        throw error;
      }
    }),
  );
  const ids: string[] = [];
  let failure: PublishedRows["failure"];
  for (const [index, result] of settled.entries()) {
    if (result.status === "fulfilled") ids.push(rows[index]?.id ?? "");
    else failure ??= { error: result.reason, id: rows[index]?.id ?? "", subject: rows[index]?.subject ?? "" };
  }
  return { ids, failure };
}
