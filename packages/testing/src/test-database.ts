import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { testInfrastructure } from "./infrastructure.js";
import { uniqueName } from "./unique-name.js";

/**
 * A database of its own for one test file.
 */
export interface TestDatabase {
  /** Database name, e.g. `t_orders_3f9c1a2b7d`. */
  name: string;
  /** Connection URL of the database. */
  url: string;
  /**
   * Drops the database, after giving its connections up to 1 s to leave (a pool just
   * ended closes them after its end() returns) and ending the rest. Safe to call twice.
   */
  drop(): Promise<void>;
}

/**
 * Creates an empty, uniquely named database on the test server.
 *
 * ```ts
 * const db = await createTestDatabase("orders");
 * try { await migrate(db.url); … } finally { await db.drop(); }
 * ```
 */
export async function createTestDatabase(
  label: string,
  adminUrl = testInfrastructure().databaseUrl,
): Promise<TestDatabase> {
  const name = uniqueName("t", label, 63);
  await admin(adminUrl, `CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => dropDatabase(adminUrl, name),
  };
}

/** How long a drop waits for the database's connections to leave before it ends them. */
const leaveMs = 1_000;

/**
 * Drops a database, ending the connections left on it — after giving those that are
 * closing a moment to leave. A pool's end() returns before its connections have
 * closed, and a connection the drop ends before the server has read its goodbye
 * hears "terminating connection" while idle, which pg turns into an uncaught error.
 */
async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    const giveUpAt = performance.now() + leaveMs;
    while (performance.now() < giveUpAt) {
      const { rows } = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1",
        [name],
      );
      if (rows[0]?.n === 0) break;
      await sleep(20);
    }
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/**
 * Creates a test database before the tests of the calling file (or `describe`)
 * and drops it after them. Read `.url` / `.name` inside tests.
 *
 * ```ts
 * const db = useTestDatabase("orders");
 * test("…", async () => { const pool = createTestPool({ connectionString: db.url }); … });
 * ```
 */
export function useTestDatabase(label: string): TestDatabase {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase(label);
  });
  afterAll(async () => {
    await database?.drop();
  });
  const current = () => {
    if (!database) throw new Error(`test database "${label}" is only available inside tests`);
    return database;
  };
  return {
    get name() {
      return current().name;
    },
    get url() {
      return current().url;
    },
    drop: () => current().drop(),
  };
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
