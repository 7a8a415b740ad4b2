import type { JetStreamClient } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { createListener, withTx } from "@shopmesh/pg";
import type pg from "pg";
import type { Logger } from "pino";
import { outboxChannel } from "./outbox.js";

/** What the relay needs. */
export interface OutboxRelayOptions {
  readonly pool: pg.Pool;
  /** Connection settings for the dedicated LISTEN connection. */
  readonly databaseUrl: string;
  readonly js: JetStreamClient;
  readonly logger: Logger;
  /** Rows claimed and published at once (default 256). */
  readonly batchSize?: number;
  /** Poll interval for notifications that were missed, e.g. while reconnecting (default 1 s). */
  readonly fallbackPollMs?: number;
}

/** A running relay. */
export interface OutboxRelay {
  /** Finishes the batch in flight and stops. */
  stop(): Promise<void>;
}

interface OutboxRow {
  id: string;
  event_id: string;
  subject: string;
  event_type: string;
  payload: Buffer;
  headers: Record<string, string>;
}

/**
 * Publishes committed outbox rows to JetStream. It wakes on the NOTIFY each commit
 * sends (with a slow fallback poll), claims unpublished rows with
 * `FOR UPDATE SKIP LOCKED` so any number of replicas can run, publishes a batch with
 * every publish in flight at once and `Nats-Msg-Id` = the outbox id (JetStream drops
 * a duplicate inside its window), and marks the rows published in the same
 * transaction. A failed publish rolls the batch back for a later retry.
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
  const listener = createListener({
    url: options.databaseUrl,
    channel: outboxChannel,
    applicationName: "outbox-relay",
    onNotify: notify,
    onConnect: notify,
    onError: (error) => options.logger.warn({ err: error }, "outbox LISTEN connection failed; reconnecting"),
  });

  const loop = (async () => {
    while (running) {
      pending = false;
      const published = await relayBatch(options, batchSize).catch((error: unknown) => {
        options.logger.warn({ err: error }, "outbox relay batch failed; will retry");
        return 0;
      });
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
  })();

  return {
    async stop() {
      running = false;
      wake?.();
      await loop;
      await listener.close();
    },
  };
}

async function relayBatch({ pool, js }: OutboxRelayOptions, batchSize: number): Promise<number> {
  return withTx(pool, async (tx) => {
    const { rows } = await tx.query<OutboxRow>(
      `SELECT id, event_id, subject, event_type, payload, headers FROM outbox
        WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [batchSize],
    );
    if (rows.length === 0) return 0;
    await publishRows(js, rows);
    await tx.query("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", [rows.map((row) => row.id)]);
    return rows.length;
  });
}

/** Publishes rows concurrently, each with its outbox id as `Nats-Msg-Id`. */
export async function publishRows(js: JetStreamClient, rows: readonly OutboxRow[]): Promise<void> {
  await Promise.all(
    rows.map((row) => {
      const headers = natsHeaders();
      for (const [key, value] of Object.entries(row.headers)) headers.set(key, value);
      headers.set("Shopmesh-Event-Id", row.event_id);
      headers.set("Shopmesh-Event-Type", row.event_type);
      return js.publish(row.subject, row.payload, { msgID: row.id, headers });
    }),
  );
}
