import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { inventoryService } from "@shopmesh/inventory";
import { orderService } from "@shopmesh/order";
import { paymentService } from "@shopmesh/payment";
import { migrate } from "@shopmesh/pg";
import { migrationDirs } from "@shopmesh/runtime";
import { createTestDatabase, type TestDatabase } from "@shopmesh/testing";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const services = [orderService, inventoryService, paymentService];

/** Every migration file of the repository, as a path from its root. */
function migrationFiles(): string[] {
  const dirs = [...new Set(services.flatMap((service) => migrationDirs(service)))];
  return dirs.flatMap((dir) => readdirSync(dir).map((file) => relative(root, join(dir, file)))).sort();
}

describe("released migrations", () => {
  it("are never edited nor removed, and every migration is on the released list", () => {
    const released = new Map(
      readFileSync(join(root, "e2e/released-migrations.sha256"), "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "" && !line.startsWith("#"))
        .map((line) => {
          const [hash = "", path = ""] = line.split(/\s+/);
          return [path, hash] as const;
        }),
    );
    const files = migrationFiles();
    const removed = [...released.keys()]
      .filter((path) => !files.includes(path))
      .map((path) => `${path} was removed after it landed`);
    const problems = files.flatMap((path) => {
      const hash = createHash("sha256")
        .update(readFileSync(join(root, path)))
        .digest("hex");
      const expected = released.get(path);
      if (expected === undefined) return [`${path} is not listed: add \`${hash}  ${path}\``];
      return expected === hash ? [] : [`${path} was edited after it landed: add a new migration instead`];
    });
    expect([...removed, ...problems]).toEqual([]);
  });
});

/** What a database's schema is made of, one line per column, index, constraint, trigger and function. */
async function schemaOf(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ line: string }>(
      `SELECT format('column %s.%s %s null=%s default=%s', table_name, column_name, data_type, is_nullable,
                     column_default) AS line
         FROM information_schema.columns WHERE table_schema = 'public'
       UNION ALL
       SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
       UNION ALL
       SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
         FROM pg_constraint WHERE connamespace = 'public'::regnamespace
       UNION ALL
       SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
       UNION ALL
       SELECT 'function ' || pg_get_functiondef(p.oid)
         FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
       ORDER BY 1`,
    );
    return rows.map((row) => row.line);
  } finally {
    await client.end();
  }
}

describe("a database made by the first release", () => {
  const databases: TestDatabase[] = [];
  const folders: string[] = [];
  afterAll(async () => {
    await Promise.all(databases.map((database) => database.drop()));
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  it.each(services.map((service) => [service.name, service] as const))(
    "upgrades to the schema a fresh one gets (%s)",
    async (name, service) => {
      // The first release: the event tables' 000 as it was then, and the service's 001.
      const firstRelease = mkdtempSync(join(tmpdir(), `shopmesh-first-release-${name}-`));
      folders.push(firstRelease);
      const ownDir = fileURLToPath(service.migrations);
      const first = readdirSync(ownDir).find((file) => file.startsWith("001_")) ?? "";
      copyFileSync(join(ownDir, first), join(firstRelease, first));
      const upgraded = await createTestDatabase(`upgrade_${name}`);
      databases.push(upgraded);
      const fresh = await createTestDatabase(`fresh_${name}`);
      databases.push(fresh);
      await migrate({
        databaseUrl: upgraded.url,
        dir: [fileURLToPath(new URL("first-release", import.meta.url)), firstRelease],
      });

      await migrate({ databaseUrl: upgraded.url, dir: migrationDirs(service) });
      await migrate({ databaseUrl: fresh.url, dir: migrationDirs(service) });

      expect(await schemaOf(upgraded.url)).toEqual(await schemaOf(fresh.url));
    },
  );
});
