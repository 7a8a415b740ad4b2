import { readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { describe, expect, test } from "vitest";
import { resolveInfrastructure } from "../src/global-setup.js";
import {
  createTestDatabase,
  createTestNats,
  createTestPool,
  freePort,
  testInfrastructure,
  useTestDatabase,
  useTestNats,
  waitFor,
} from "../src/index.js";
import { natsServerMissing, startPrivateNats } from "../src/private-nats.js";
import { probeNats, probePostgres } from "../src/probe.js";

async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

function isListening(port: number): Promise<boolean> {
  const socket = createConnection({ host: "127.0.0.1", port });
  return new Promise<boolean>((resolve) => {
    socket.once("connect", () => resolve(true));
    socket.once("error", () => resolve(false));
  }).finally(() => socket.destroy());
}

async function harnessTempFolders(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => /^shopmesh-(pg|nats)-/.test(name));
}

describe("test databases", () => {
  test("a test database is created, usable, and gone after drop, even with a connection left open", async () => {
    const { databaseUrl } = testInfrastructure();
    const db = await createTestDatabase("Harness: Orders!");
    expect(db.name).toMatch(/^t_harness_orders_[0-9a-f]{10}$/);
    await query(db.url, "CREATE TABLE item (id int PRIMARY KEY)");
    await query(db.url, "INSERT INTO item VALUES (1), (2)");
    expect(await query(db.url, "SELECT count(*)::int AS n FROM item")).toEqual([{ n: 2 }]);

    const leftOpen = new pg.Client({ connectionString: db.url });
    leftOpen.on("error", () => {});
    await leftOpen.connect();
    await db.drop();
    await leftOpen.end().catch(() => {});

    const rows = await query(databaseUrl, "SELECT 1 FROM pg_database WHERE datname = $1", [db.name]);
    expect(rows).toEqual([]);
  });

  test("a drop lets a connection that is closing leave on its own: it hears no 'terminating connection'", async () => {
    const db = await createTestDatabase("harness closing");
    const closing = new pg.Client({ connectionString: db.url });
    const heard: string[] = [];
    closing.on("error", (error) => heard.push(error.message));
    await closing.connect();
    const dropped = db.drop();
    // The client says goodbye once the drop has begun (a pool's end() returns before that).
    const dropWaiting =
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%FROM pg_stat_activity WHERE datname = $1%' AND pid <> pg_backend_pid()";
    await waitFor(
      async () => ((await query<{ n: number }>(testInfrastructure().databaseUrl, dropWaiting))[0]?.n ?? 0) > 0,
      { timeoutMs: 3_000, description: "the drop to wait for the database's connections" },
    );
    await closing.end();
    await dropped;
    expect(heard).toEqual([]);
    const rows = await query(testInfrastructure().databaseUrl, "SELECT 1 FROM pg_database WHERE datname = $1", [
      db.name,
    ]);
    expect(rows).toEqual([]);
  });

  test("a test pool throws an error of its connections, but not once it is ending", async () => {
    const db = await createTestDatabase("harness pool");
    const pool = createTestPool({ connectionString: db.url, max: 1 });
    try {
      const client = await pool.connect();
      client.release();
      const lost = new Error("terminating connection due to administrator command");
      expect(() => pool.emit("error", lost, client)).toThrow(lost);
      const ended = pool.end();
      expect(() => pool.emit("error", lost, client)).not.toThrow();
      await ended;
    } finally {
      await db.drop();
    }
  });

  test("names stay safe identifiers of at most 63 characters", async () => {
    const db = await createTestDatabase(`"; DROP DATABASE postgres; -- ${"x".repeat(100)}`);
    try {
      expect(db.name.length).toBeLessThanOrEqual(63);
      expect(db.name).toMatch(/^t_[a-z0-9_]+_[0-9a-f]{10}$/);
    } finally {
      await db.drop();
    }
  });

  describe("useTestDatabase", () => {
    const db = useTestDatabase("use");

    test("gives each file a database of its own", async () => {
      expect(await query(db.url, "SELECT current_database() AS name")).toEqual([{ name: db.name }]);
    });
  });
});

describe("test NATS", () => {
  test("cleanup removes the prefix's streams and leaves other streams alone", async () => {
    const nats = createTestNats("harness");
    expect(nats.prefix).toMatch(/^T_HARNESS_[0-9A-F]{10}$/);
    const closedByTest = await nats.connect();
    await closedByTest.close();
    const nc = await nats.connect();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: `${nats.prefix}_ORDERS`, subjects: [`${nats.prefix}.orders.>`] });
    await jsm.streams.add({ name: `${nats.prefix}_PAYMENTS`, subjects: [`${nats.prefix}.payments.>`] });
    await jsm.consumers.add(`${nats.prefix}_ORDERS`, { durable_name: `${nats.prefix}_RELAY` });

    const other = createTestNats("other");
    const otherNc = await other.connect();
    const otherJsm = await jetstreamManager(otherNc);
    await otherJsm.streams.add({ name: `${other.prefix}_ORDERS`, subjects: [`${other.prefix}.orders.>`] });
    try {
      await nats.cleanup();
      expect(nc.isClosed()).toBe(true);
      const names: string[] = [];
      for await (const name of otherJsm.streams.names()) names.push(name);
      expect(names.filter((name) => name.startsWith(nats.prefix))).toEqual([]);
      expect(names).toContain(`${other.prefix}_ORDERS`);
    } finally {
      await other.cleanup();
    }
    const admin = await connect({ servers: testInfrastructure().natsUrl });
    const remaining: string[] = [];
    for await (const name of (await jetstreamManager(admin)).streams.names()) remaining.push(name);
    await admin.close();
    expect(remaining.filter((name) => name.startsWith(other.prefix))).toEqual([]);
  });

  describe("useTestNats", () => {
    const nats = useTestNats("use");

    test("hands out connections to the test server", async () => {
      const nc = await nats.connect();
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: `${nats.prefix}_S`, subjects: [`${nats.prefix}.>`] });
      expect((await jsm.streams.info(`${nats.prefix}_S`)).config.name).toBe(`${nats.prefix}_S`);
    });
  });
});

describe("waitFor", () => {
  test("returns the first truthy value", async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { intervalMs: 5 });
    expect(value).toEqual({ calls: 3 });
  });

  test("times out naming the description and the last value", async () => {
    await expect(waitFor(() => false, { timeoutMs: 100, description: "the order to be paid" })).rejects.toThrow(
      /waiting for the order to be paid \(last value: false\)/,
    );
  });

  test("reports the last error, and stops waiting on a probe that hangs", async () => {
    const started = Date.now();
    await expect(
      waitFor(() => Promise.reject(new Error("connection refused")), { timeoutMs: 80, description: "db" }),
    ).rejects.toThrow(/db \(last error: connection refused\)/);
    await expect(waitFor(() => new Promise<boolean>(() => {}), { timeoutMs: 80 })).rejects.toThrow(/timed out/);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

test("freePort never hands out a port twice, one call after another or at once: none is bound yet", async () => {
  const ports: number[] = [];
  for (let call = 0; call < 300; call++) ports.push(await freePort());
  ports.push(...(await Promise.all(Array.from({ length: 100 }, () => freePort()))));
  expect(new Set(ports).size).toBe(ports.length);
});

test("freePort finds a port nothing listens on, outside the range outgoing connections draw from", async () => {
  const [ephemeralStart] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
  for (const port of ports) {
    expect(port).toBeGreaterThan(1_024);
    expect(port).toBeLessThan(Number(ephemeralStart));
    expect(await isListening(port)).toBe(false);
  }
});

describe("global setup", () => {
  test("an explicitly given but unreachable URL fails naming it, without starting anything", async () => {
    const port = await freePort();
    const url = `postgres://root@127.0.0.1:${port}/postgres`;
    await expect(resolveInfrastructure({ env: { DATABASE_URL: url } })).rejects.toThrow(
      `DATABASE_URL=${url} is set, but PostgreSQL is not usable there`,
    );
  });

  test("a missing nats-server binary fails with install instructions", async () => {
    const path = process.env.PATH;
    process.env.PATH = "/nonexistent";
    try {
      await expect(startPrivateNats()).rejects.toThrow(natsServerMissing);
    } finally {
      process.env.PATH = path;
    }
  });

  test("with nothing at the defaults it starts embedded PostgreSQL and nats-server, and stops them", {
    timeout: 60_000,
  }, async () => {
    const before = await harnessTempFolders();
    const [pgPort, natsPort] = [await freePort(), await freePort()];
    const infra = await resolveInfrastructure({
      defaults: {
        databaseUrl: `postgres://root@127.0.0.1:${pgPort}/postgres`,
        natsUrl: `nats://127.0.0.1:${natsPort}`,
      },
      env: {},
    });
    const ports = [Number(new URL(infra.databaseUrl).port), Number(new URL(infra.natsUrl).port)];
    try {
      expect([infra.postgres, infra.nats]).toEqual(["embedded", "embedded"]);
      expect(infra.summary).toMatch(
        /PostgreSQL postgres:\/\/shopmesh:\*\*\*@127\.0\.0\.1:\d+\/postgres \(embedded\), NATS nats:\/\/127\.0\.0\.1:\d+ \(embedded\)/,
      );
      expect(await query(infra.databaseUrl, "SELECT 1 AS one")).toEqual([{ one: 1 }]);
      expect(await probePostgres(infra.databaseUrl)).toBeUndefined();
      expect(await probeNats(infra.natsUrl)).toBeUndefined();
    } finally {
      await infra.stop();
    }
    expect(await Promise.all(ports.map(isListening))).toEqual([false, false]);
    expect(await harnessTempFolders()).toEqual(before);
  });
});
