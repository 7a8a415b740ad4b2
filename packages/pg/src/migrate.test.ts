import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useTestDatabase } from "@shopmesh/testing";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { migrate } from "./migrate.js";

const db = useTestDatabase("migrate");
const dir = mkdtempSync(join(tmpdir(), "shopmesh-migrations-"));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("migrate", () => {
  it("lets replicas that start together wait for each other, and applies each migration once", async () => {
    // A migration slow enough that the four runs overlap.
    writeFileSync(join(dir, "001_slow.up.sql"), "SELECT pg_sleep(0.5); CREATE TABLE migrated (id int);");
    const runs = await Promise.allSettled(Array.from({ length: 4 }, () => migrate({ databaseUrl: db.url, dir })));
    expect(runs.map((run) => run.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
    expect(runs.flatMap((run) => (run.status === "fulfilled" ? run.value : []))).toEqual(["001_slow.up"]);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT name FROM pgmigrations");
      expect(rows).toEqual([{ name: "001_slow.up" }]);
    } finally {
      await client.end();
    }
  });
});
