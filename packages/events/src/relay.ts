import type { JetStreamClient } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { statement } from "@shopmesh/pg";
import { startPublish } from "@shopmesh/telemetry";
import type pg from "pg";
import type { Logger } from "pino";

/** What the relay needs. */
export interface OutboxRelayOptions {
  readonly pool: pg.Pool;
  readonly js: JetStreamClient;
  readonly logger: Logger;
  /** Rows claimed and published at once (default 256). */
  readonly batchSize?: number;
  /** Poll interval for rows nobody woke this relay for: other replicas', a crashed one's (default 1 s). */
  readonly fallbackPollMs?: number;
  /**
   * How long claimed rows are reserved for the relay that claimed them (default 30 s):
   * another relay takes them over after. Keep it well inside the streams' 2-minute
   * duplicate window, which is what drops the copy a late relay still sends.
   */
  readonly leaseMs?: number;
}

/** A running relay. */
export interface OutboxRelay {
  /** Publishes what has committed, now (call after a commit that wrote outbox rows). */
  wake(): void;
  /** Finishes the batch in flight and stops. */
  stop(): Promise<void>;
}

/** An outbox row to publish. */
export interface OutboxMessageRow {
  id: string;
  event_id: string;
  subject: string;
  event_type: string;
  payload: Buffer;
  headers: Record<string, string>;
  created_at: Date;
}

/**
 * Publishes committed outbox rows to JetStream. It is woken in-process right after
 * this process commits outbox rows (with a slow fallback poll for rows written by
 * other replicas or left by a crashed one), claims unpublished rows with a lease
 * (`FOR UPDATE SKIP LOCKED`, so any number of replicas share the table), publishes a
 * batch with every publish in flight at once and `Nats-Msg-Id` = the outbox id
 * (JetStream drops a duplicate inside its window), and marks the rows published with
 * its next claim. A failed publish releases the lease for a prompt retry.
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const batchSize = options.batchSize ?? 256;
  const fallbackPollMs = options.fallbackPollMs ?? 1_000;
  let running = true;
  let wake: (() => void) | undefined;
  let pending = false;
  const notify = () => {
    pending = true;
    wake?.();
  };

  // Rows published but not yet marked: the next claim marks them in the same statement
  // (an idle relay's next claim is its fallback poll, well inside the lease).
  let unmarked: string[] = [];
  const loop = (async () => {
    while (running) {
      pending = false;
      const published = await relayBatch(options, batchSize, unmarked).then(
        (ids) => {
          unmarked = ids;
          return ids.length;
        },
        (error: unknown) => {
          options.logger.warn({ err: error }, "outbox relay batch failed; will retry");
          return 0;
        },
      );
      if (published === batchSize || pending || !running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, fallbackPollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    if (unmarked.length > 0) {
      await markPublished(options.pool, [unmarked]).catch((error: unknown) => {
        options.logger.warn({ err: error }, "outbox rows published but not marked; they will be re-sent");
      });
    }
  })();

  return {
    wake: notify,
    async stop() {
      running = false;
      wake?.();
      await loop;
    },
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
  try {
    await publishRows(js, rows);
  } catch (error) {
    await releaseClaims(pool, [rows.map((row) => row.id)]);
    throw error;
  }
  return rows.map((row) => row.id);
}

/**
 * Publishes rows concurrently, each with its outbox id as `Nats-Msg-Id`, in a producer
 * span that continues the trace of the transaction that wrote the row.
 */
export async function publishRows(js: JetStreamClient, rows: readonly OutboxMessageRow[]): Promise<void> {
  await Promise.all(
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
        await js.publish(row.subject, row.payload, { msgID: row.id, headers });
        traced.end();
      } catch (error) {
        traced.end(error);
        throw error;
      }
    }),
  );
}
