import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useTestDatabase, waitFor } from "@shopmesh/testing";
import { PG_MIGRATE_LOCK_ID } from "node-pg-migrate";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { migrate } from "./migrate.js";

const db = useTestDatabase("migrate");
const heldDb = useTestDatabase("migrate held");
const dir = mkdtempSync(join(tmpdir(), "shopmesh-migrations-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("migrate", () => {
  it("lets replicas that start together wait for each other, and applies each migration once", async () => {
    // A migration slow enough that the four runs overlap (pg_sleep stands for a long one).
    writeFileSync(join(dir, "001_slow.up.sql"), "SELECT pg_sleep(0.5); CREATE TABLE migrated (id int);");
    // And one that builds an index CONCURRENTLY, which waits for every open snapshot in the
    // database: the replicas waiting for their turn must not hold one.
    writeFileSync(
      join(dir, "002_index.up.js"),
      `export const up = (pgm) => {
         pgm.noTransaction();
         pgm.sql("CREATE INDEX CONCURRENTLY migrated_id ON migrated (id)");
       };`,
    );
    const runs = await Promise.allSettled(Array.from({ length: 4 }, () => migrate({ databaseUrl: db.url, dir })));
    expect(runs.map((run) => (run.status === "fulfilled" ? run.status : String(run.reason)))).toEqual([
      "fulfilled",
      "fulfilled",
      "fulfilled",
      "fulfilled",
    ]);
    expect(runs.flatMap((run) => (run.status === "fulfilled" ? run.value : []))).toEqual([
      "001_slow.up",
      "002_index.up",
    ]);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT name FROM pgmigrations ORDER BY name");
      expect(rows).toEqual([{ name: "001_slow.up" }, { name: "002_index.up" }]);
      const index = await client.query(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'migrated_id'",
      );
      expect(index.rows).toEqual([{ indisvalid: true }]);
    } finally {
      await client.end();
    }
  });
});

describe("migrate while another session holds the migration lock", () => {
  it("says who holds it, and migrates once it is released", async () => {
    const own = mkdtempSync(join(tmpdir(), "shopmesh-migrations-held-"));
    writeFileSync(join(own, "001_first.up.sql"), "CREATE TABLE held_then_migrated (id int);");
    // A replica that took the lock and hangs: its session stays.
    const stuck = new pg.Client({ connectionString: heldDb.url, application_name: "stuck-replica" });
    await stuck.connect();
    try {
      await stuck.query("SELECT pg_advisory_lock($1)", [String(PG_MIGRATE_LOCK_ID)]);
      const warnings: string[] = [];
      const migrating = migrate({
        databaseUrl: heldDb.url,
        dir: own,
        warn: (message) => warnings.push(message),
      });
      await waitFor(() => warnings.length > 0, { description: "the waiting replica's notice" });
      expect(warnings[0]).toMatch(
        /^waiting for another session's migrations to finish: the lock is held by backend \d+ \(application "stuck-replica"( from [^,]+)?, connected since \d{4}-\d\d-\d\dT/,
      );
      await stuck.query("SELECT pg_advisory_unlock($1)", [String(PG_MIGRATE_LOCK_ID)]);
      expect(await migrating).toEqual(["001_first.up"]);
    } finally {
      await stuck.end();
      rmSync(own, { recursive: true, force: true });
    }
  });
});
