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
  /** Ends leftover connections and drops the database. Safe to call twice. */
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
    drop: () => admin(adminUrl, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`),
  };
}

/**
 * Creates a test database before the tests of the calling file (or `describe`)
 * and drops it after them. Read `.url` / `.name` inside tests.
 *
 * ```ts
 * const db = useTestDatabase("orders");
 * test("…", async () => { const pool = new pg.Pool({ connectionString: db.url }); … });
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
