import { installMetricReader } from "@shopmesh/testing";
import { expect, test } from "vitest";

// Before the module loads: it creates its instruments as it loads.
const measured = installMetricReader();
const { declareConsumer } = await import("./messaging.js");

test("a consumer's dead letters, retries and redeliveries are series at 0 from its start, so increase() sees the first", async () => {
  declareConsumer("declared", ["orders.placed", "orders.cancelled"]);
  const snapshot = await measured.collect();
  const consumer = { "messaging.consumer.group.name": "declared" };
  const counted = (name: string, attributes: Record<string, string> = {}) => {
    const of = { ...consumer, ...attributes };
    return { series: snapshot.series(name, of), total: snapshot.total(name, of) };
  };
  expect({
    deadLettered: counted("shopmesh.consumer.events", { "shopmesh.consumer.outcome": "dead_lettered" }),
    retried: counted("shopmesh.consumer.events", { "shopmesh.consumer.outcome": "retried" }),
    redelivered: counted("shopmesh.consumer.redeliveries"),
  }).toEqual({
    deadLettered: { series: 2, total: 0 },
    retried: { series: 2, total: 0 },
    redelivered: { series: 2, total: 0 },
  });
});
