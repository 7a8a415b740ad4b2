import { fileURLToPath } from "node:url";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { createPool, migrate } from "@shopmesh/pg";
import type pg from "pg";

/** What an events test works with: its database, migrated, with a pool on it, and JetStream. */
export interface EventsTestbed {
  readonly pool: pg.Pool;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

/** Migrates a test database to the outbox and inbox tables and connects to it and to NATS. */
export async function openEventsTestbed(
  db: { readonly url: string },
  nats: { connect(): Promise<NatsConnection> },
  applicationName: string,
): Promise<EventsTestbed> {
  await migrate({ databaseUrl: db.url, dir: fileURLToPath(new URL("../migrations", import.meta.url)) });
  const pool = createPool({ url: db.url, applicationName, onError: () => undefined });
  const nc = await nats.connect();
  return { pool, nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
}
