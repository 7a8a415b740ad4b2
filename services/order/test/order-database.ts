import { migrate } from "@shopmesh/pg";
import { migrationDirs } from "@shopmesh/runtime";
import { createTestPool, useTestDatabase } from "@shopmesh/testing";
import type pg from "pg";
import { afterAll, beforeAll } from "vitest";

/**
 * A fresh database with the order service's migrations for the tests of one file,
 * and a pool on it: `pool()` answers it once the file's tests run.
 */
export function useOrderDatabase(label: string): { pool(): pg.Pool } {
  const db = useTestDatabase(label);
  let pool: pg.Pool | undefined;
  beforeAll(async () => {
    await migrate({
      databaseUrl: db.url,
      dir: migrationDirs({ migrations: new URL("../migrations/", import.meta.url) }),
    });
    pool = createTestPool({ connectionString: db.url });
  });
  afterAll(async () => {
    await pool?.end();
  });
  return {
    pool() {
      if (!pool) throw new Error("the order database is ready once the tests run");
      return pool;
    },
  };
}
