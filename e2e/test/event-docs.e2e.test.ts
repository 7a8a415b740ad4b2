import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { DescMessage } from "@bufbuild/protobuf";
import type { ConsumerSpec } from "@shopmesh/runtime";
import { describe, expect, it } from "vitest";
import { createOrderEventsConsumer } from "../../services/inventory/src/consumers.js";
import { orderConsumers } from "../../services/order/src/consumers.js";
import { createPaymentConsumers } from "../../services/payment/src/consumers.js";

// The contracts' comments and docs/architecture.md's event catalogue say who consumes
// each event; the services' consumer specifications say who really does.
const root = join(new URL("../../", import.meta.url).pathname);
const read = (path: string) => readFileSync(join(root, path), "utf8");

// Building the specs touches none of their dependencies (only the handlers would).
const unused = {} as never;
const specs: Record<string, ConsumerSpec[]> = {
  order: orderConsumers(unused, unused),
  inventory: [createOrderEventsConsumer({ events: unused, logger: unused })],
  payment: createPaymentConsumers(unused, unused),
};

/** Event type name (short) → the services whose consumers apply it. */
const consumersOf = new Map<string, Set<string>>();
for (const [service, list] of Object.entries(specs)) {
  for (const spec of list) {
    for (const { schema } of spec.subscriptions as readonly { schema: DescMessage }[]) {
      const set = consumersOf.get(schema.name) ?? new Set<string>();
      consumersOf.set(schema.name, set.add(service));
    }
  }
}

/** Each event message of the contracts with the comment above it. */
function eventComments(): Map<string, string> {
  const comments = new Map<string, string>();
  for (const file of [
    "proto/shopmesh/order/v1/order_events.proto",
    "proto/shopmesh/inventory/v1/inventory_events.proto",
    "proto/shopmesh/payment/v1/payment_events.proto",
  ]) {
    for (const [, comment = "", name = ""] of read(file).matchAll(
      /((?:^\/\/.*\n)+)message (\w+) \{\n\s+option \(shopmesh\.common\.v1\.event\)/gm,
    )) {
      comments.set(
        name,
        comment
          .replace(/^\/\/ ?/gm, "")
          .replace(/\s+/g, " ")
          .trim(),
      );
    }
  }
  return comments;
}

describe("who consumes each event", () => {
  it("no contract calls an event informational that a service applies", () => {
    const wrong: string[] = [];
    for (const [name, comment] of eventComments()) {
      const consumers = [...(consumersOf.get(name) ?? [])];
      if (/Informational|for the history/.test(comment) && consumers.length > 0) {
        wrong.push(`${name}: "${comment}" — applied by ${consumers.join(", ")}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("docs/architecture.md's catalogue names the consumers the services declare", () => {
    const rows = read("docs/architecture.md")
      .split("\n")
      .filter((line) => /^\| .*\| `?(shopmesh\.\w+\.v1\.)?[A-Z]\w+`? +\|/.test(line));
    const documented = new Map<string, string[]>();
    for (const row of rows) {
      const [, , event = "", , , consumedBy = ""] = row.split("|").map((cell) => cell.trim());
      const name = /`(?:shopmesh\.\w+\.v1\.)?(\w+)`/.exec(event)?.[1];
      if (!name || (!consumersOf.has(name) && !/—/.test(consumedBy))) continue;
      documented.set(name, [...consumedBy.matchAll(/(\w+) \(`[\w-]+`\)/g)].map(([, service = ""]) => service).sort());
    }
    expect(documented.size, "catalogue rows read").toBe(10);
    const actual = new Map([...documented.keys()].map((name) => [name, [...(consumersOf.get(name) ?? [])].sort()]));
    expect(documented).toEqual(actual);
  });
});
