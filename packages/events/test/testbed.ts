import { fileURLToPath } from "node:url";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { createPool, migrate } from "@shopmesh/pg";
import { useTestDatabase, useTestNats } from "@shopmesh/testing";
import type pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll } from "vitest";
import { allEvents, type ConsumerOptions, createEventCatalog, type EventCatalog, ensureStreams } from "../src/index.js";

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

/** An events test file's testbed: its streams declared, and what a consumer needs. */
export interface UsedEventsTestbed extends EventsTestbed {
  readonly db: { readonly url: string };
  readonly catalog: EventCatalog;
  /** The options every consumer of the file shares: its connections, catalog and logger. */
  readonly consumer: Pick<ConsumerOptions, "js" | "jsm" | "pool" | "logger" | "catalog">;
}

/**
 * Opens an events testbed for the calling test file before its tests — a database of
 * its own, `setupSql` run in it, its own streams — and closes it after them. Its
 * consumers log nothing unless given a `logger` (a test that reads their log lines).
 */
export function useEventsTestbed(
  label: string,
  setupSql: string,
  { logger = pino({ level: "silent" }) }: { logger?: ConsumerOptions["logger"] } = {},
): UsedEventsTestbed {
  const db = useTestDatabase(label);
  const nats = useTestNats(label);
  const catalog = createEventCatalog(allEvents, nats.prefix);
  let opened: EventsTestbed | undefined;
  const open = () => {
    if (!opened) throw new Error("the events testbed opens in beforeAll");
    return opened;
  };
  beforeAll(async () => {
    opened = await openEventsTestbed(db, nats, `${label.replaceAll(" ", "-")}-test`);
    await opened.pool.query(setupSql);
    await ensureStreams(opened.jsm, catalog);
  });
  afterAll(async () => {
    await opened?.pool.end();
  });
  return {
    db,
    catalog,
    get pool() {
      return open().pool;
    },
    get nc() {
      return open().nc;
    },
    get js() {
      return open().js;
    },
    get jsm() {
      return open().jsm;
    },
    get consumer() {
      const { js, jsm, pool } = open();
      return { js, jsm, pool, logger, catalog };
    },
  };
}
