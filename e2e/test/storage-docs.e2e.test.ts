import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// docs/architecture.md's storage table is where a newcomer learns what each database
// holds; the migrations say what it really holds.
const root = join(new URL("../../", import.meta.url).pathname);
const read = (path: string) => readFileSync(join(root, path), "utf8");
const listedElsewhere = new Set(["outbox", "inbox", "pgmigrations"]);

function migratedTables(service: string): string[] {
  const folder = `services/${service}/migrations`;
  const tables = new Set<string>();
  for (const file of readdirSync(join(root, folder)).filter((name) => !name.endsWith(".down.sql"))) {
    for (const [, name = ""] of read(`${folder}/${file}`).matchAll(
      /CREATE (?:UNLOGGED )?TABLE (?:IF NOT EXISTS )?(\w+)/gi,
    )) {
      tables.add(name);
    }
    for (const [, name = ""] of read(`${folder}/${file}`).matchAll(/DROP TABLE (?:IF EXISTS )?(\w+)/gi)) {
      tables.delete(name);
    }
  }
  return [...tables].filter((name) => !listedElsewhere.has(name)).sort();
}

describe("docs/architecture.md's storage table", () => {
  it.each(["order", "inventory", "payment"])("names every table the %s migrations create", (service) => {
    const row = read("docs/architecture.md")
      .split("\n")
      .find((line) => line.startsWith(`| ${service} `) && line.includes("`"));
    const documented = [...(row?.split("|")[2] ?? "").matchAll(/`(\w+)`/g)].map(([, name = ""]) => name).sort();
    expect(documented).toEqual(migratedTables(service));
  });
});
