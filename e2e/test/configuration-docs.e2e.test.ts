import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { z } from "@shopmesh/config";
import { inventoryService } from "@shopmesh/inventory";
import { orderService } from "@shopmesh/order";
import { paymentService } from "@shopmesh/payment";
import { serviceConfigShape } from "@shopmesh/runtime";
import { describe, expect, it } from "vitest";

// docs/configuration.md promises "Every setting is an environment variable with a
// documented default": the variables the config code reads, their defaults and their
// bounds, against the tables of that page.
const root = join(new URL("../../", import.meta.url).pathname);
const doc = readFileSync(join(root, "docs/configuration.md"), "utf8");

/** The rows of the markdown table that follows `heading`, as cells. */
function tableAfter(heading: string): string[][] {
  const lines = doc.slice(doc.indexOf(heading)).split("\n");
  const start = lines.findIndex((line) => line.startsWith("|"));
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .split("|")
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

const unquote = (cell: string) => /^`([^`]*)`$/.exec(cell)?.[1];
const common = new Map(
  tableAfter("## Common to every service").map(([name = "", def = "", meaning = ""]) => [
    unquote(name) ?? name,
    { def: unquote(def), meaning },
  ]),
);
const perService = new Map(
  tableAfter("## Per service").map(([service = "", grpc = "", http = "", own = ""]) => [
    service,
    { grpc: unquote(grpc), http: unquote(http), own },
  ]),
);
const services = { order: orderService, inventory: inventoryService, payment: paymentService };

/** The value a schema takes for an unset variable (undefined: none, or required). */
function defaultOf(schema: z.ZodType): string | undefined {
  const parsed = schema.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return undefined;
  return Array.isArray(parsed.data) ? parsed.data.join(",") : String(parsed.data);
}

/** The largest value a numeric schema accepts, if it says one. */
function maximumOf(schema: z.ZodType): number | undefined {
  const max = (schema as unknown as { maxValue?: number | null }).maxValue;
  const inner = (schema as unknown as { def?: { innerType?: z.ZodType } }).def?.innerType;
  return max ?? (inner ? maximumOf(inner) : undefined) ?? undefined;
}

describe("docs/configuration.md, common variables", () => {
  const shape = serviceConfigShape({ grpcAddress: "0.0.0.0:1", httpAddress: "0.0.0.0:2" });
  const perServiceDefaults = new Set(["GRPC_ADDRESS", "HTTP_ADDRESS"]);

  it("lists every variable the shared configuration reads, and none it ignores", () => {
    expect([...common.keys()].sort()).toEqual(Object.keys(shape).sort());
  });

  it("gives each the default the code applies", () => {
    const wrong: string[] = [];
    for (const [name, schema] of Object.entries(shape)) {
      if (perServiceDefaults.has(name)) continue;
      const documented = common.get(name)?.def;
      const actual = defaultOf(schema as z.ZodType);
      if (documented !== actual) wrong.push(`${name}: documented ${documented}, code ${actual}`);
    }
    expect(wrong).toEqual([]);
  });

  it("says 'at most N' exactly where the code caps the variable at N", () => {
    const wrong: string[] = [];
    for (const [name, { meaning }] of common) {
      const said = /at most (\d+)/.exec(meaning)?.[1];
      const max = maximumOf(shape[name as keyof typeof shape] as z.ZodType);
      if (said === undefined && max !== undefined)
        wrong.push(`${name}: code refuses above ${max}, the docs give no bound`);
      if (said !== undefined && Number(said) !== max) wrong.push(`${name}: documented at most ${said}, code ${max}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("docs/configuration.md, per service", () => {
  for (const [name, service] of Object.entries(services)) {
    it(`${name}: listen addresses and own variables with their defaults and bounds`, () => {
      const row = perService.get(name);
      expect(row, `a row for ${name}`).toBeDefined();
      expect({ grpc: row?.grpc, http: row?.http }).toEqual({
        grpc: service.defaults.grpcAddress,
        http: service.defaults.httpAddress,
      });
      // "`NAME` (`default`…, at most N…)" for each variable of the row.
      const documented = new Map(
        [...(row?.own ?? "").matchAll(/`([A-Z][A-Z0-9_]+)` \(`([^`]*)`([^)]*)\)/g)].map(([, variable, def, rest]) => [
          variable,
          { def, max: /at most (\d+)/.exec(rest ?? "")?.[1] },
        ]),
      );
      expect([...documented.keys()].sort()).toEqual(Object.keys(service.config).sort());
      const wrong: string[] = [];
      for (const [variable, schema] of Object.entries(service.config as Record<string, z.ZodType>)) {
        const doc = documented.get(variable);
        if (doc?.def !== defaultOf(schema))
          wrong.push(`${variable}: documented ${doc?.def}, code ${defaultOf(schema)}`);
        const max = maximumOf(schema);
        if (doc?.max !== undefined && Number(doc.max) !== max) {
          wrong.push(`${variable}: documented at most ${doc.max}, code ${max}`);
        }
        if (doc?.max === undefined && max !== undefined && max < Number.MAX_SAFE_INTEGER) {
          wrong.push(`${variable}: code refuses above ${max}, the docs give no bound`);
        }
      }
      expect(wrong).toEqual([]);
    });
  }
});
