import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../..", import.meta.url));

/** Runs the catalog seed as the production job does, with `env` in place of the database's. */
function seed(env: Record<string, string | undefined>): Promise<{ exit: number | string; err: string }> {
  const { DATABASE_URL: _, ...rest } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--conditions=@shopmesh/source", "--import", "tsx", "services/inventory/src/seed-cli.ts"],
      { cwd: root, timeout: 20_000, env: { ...rest, ...env } },
      (error, _out, err) => resolve({ exit: error ? (error.signal ?? Number(error.code)) : 0, err }),
    );
  });
}

describe("the catalog seed command", () => {
  it("refuses a missing or foreign DATABASE_URL with a sentence and exit 2", async () => {
    for (const url of [undefined, "mysql://seed@127.0.0.1/shop"]) {
      const ran = await seed(url === undefined ? {} : { DATABASE_URL: url });
      expect(ran.exit, String(url)).toBe(2);
      expect(ran.err).toContain("DATABASE_URL");
      expect(ran.err).not.toMatch(/\n\s+at /);
    }
  });

  it("says in a sentence why it failed, exit 1, when the database cannot be reached", async () => {
    const ran = await seed({ DATABASE_URL: "postgres://seed:s3cret@127.0.0.1:1/shopmesh_inventory" });
    expect(ran.exit).toBe(1);
    expect(ran.err).toContain("seeding the catalog failed: ");
    expect(ran.err).toContain("ECONNREFUSED");
    expect(ran.err).not.toMatch(/\n\s+at /);
    expect(ran.err).not.toContain("s3cret");
  });
});
