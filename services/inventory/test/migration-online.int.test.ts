import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createPool, migrate } from "@shopmesh/pg";
import { migrationDirs } from "@shopmesh/runtime";
import { createTestDatabase, type TestDatabase, waitFor } from "@shopmesh/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedCatalog } from "../src/seed.js";
import { inventoryService } from "../src/service.js";

// In a rolling update the old replicas keep serving while the new pod migrates. A
// migration that waits for a lock someone else holds on `products` (a pg_dump, a
// report) must not queue the catalog's reads behind it past the pool's 2 s
// lock_timeout: 005 (and 006, which takes the same lock) gives up after 1 s and is tried again.
describe("upgrading a serving inventory database to migration 005 and later", () => {
  let database: TestDatabase;
  let before: string;
  let service: pg.Pool;
  let holder: pg.Client;
  beforeAll(async () => {
    database = await createTestDatabase("mig005_online");
    // The database as an earlier release left it: the migrations before 005.
    const [events, inventory] = migrationDirs(inventoryService) as [string, string];
    before = await mkdtemp(join(tmpdir(), "inventory-migrations-"));
    const earlier = (source: string) => !/^\d{3}_/.test(basename(source)) || Number(basename(source).slice(0, 3)) < 5;
    await cp(inventory, before, { recursive: true, filter: earlier });
    await migrate({ databaseUrl: database.url, dir: [events, before] });
    service = createPool({ url: database.url, applicationName: "inventory", onError: () => {} });
    await seedCatalog(service);
    holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
  });
  afterAll(async () => {
    await holder?.end().catch(() => {});
    await service?.end();
    await database?.drop();
    if (before) await rm(before, { recursive: true, force: true });
  });

  it("says it waits for the lock, and gives up after lockWaitMs rather than hold the start for ever", async () => {
    const [events] = migrationDirs(inventoryService) as [string];
    await holder.query("BEGIN");
    await holder.query("SELECT count(*) FROM products");
    const warned: string[] = [];
    try {
      const outcome = await migrate({
        databaseUrl: database.url,
        dir: [events, fileURLToPath(inventoryService.migrations)],
        warn: (message) => warned.push(message),
        lockWaitMs: 2_500,
      }).catch((error: unknown) => String(error));
      expect(outcome).toMatch(/gave up waiting for a lock/);
      expect(warned[0]).toMatch(/waiting for a lock another session holds/);
    } finally {
      await holder.query("COMMIT");
    }
  });

  it("keeps the catalog readable while the migration waits for a lock on products", async () => {
    const [events] = migrationDirs(inventoryService) as [string];
    // A long reader of the catalog (pg_dump takes this same ACCESS SHARE lock for its whole run).
    await holder.query("BEGIN");
    await holder.query("SELECT count(*) FROM products");
    const migrating = migrate({
      databaseUrl: database.url,
      dir: [events, fileURLToPath(inventoryService.migrations)],
    }).catch((error: unknown) => error);
    try {
      await waitFor(
        async () => {
          // The migration's ALTER TABLE, waiting for its lock on products.
          const { rows } = await service.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
              WHERE c.relname = 'products' AND l.mode = 'AccessExclusiveLock' AND NOT l.granted`,
          );
          return (rows[0]?.n ?? 0) > 0;
        },
        { description: "migration 005 waiting for its lock", timeoutMs: 10_000 },
      );
      // A catalog lookup as the serving replicas make it (their pool: lock_timeout 2 s).
      const lookup = await service.query("SELECT sku, name FROM products WHERE sku = $1", ["SKU-000001"]).then(
        (result) => `answered ${result.rowCount} row`,
        (error: { code?: string; message: string }) => `${error.code}: ${error.message}`,
      );
      expect(lookup).toBe("answered 1 row");
      // The lock let go, the migration tried again goes through.
      await holder.query("COMMIT");
      expect(await migrating).toEqual([
        "005_products_bounded_text.up",
        "006_search_text_per_field.up",
        "007_on_hand_version.up",
      ]);
    } finally {
      await holder.query("COMMIT");
      await migrating;
    }
  });
});
