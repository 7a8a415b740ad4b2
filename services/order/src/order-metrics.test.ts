import { metrics } from "@opentelemetry/api";
import { AggregationTemporality, type Histogram, MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { beforeAll, expect, test } from "vitest";
import type { AdvancedOrder } from "./advance-order.js";

/** A reader the test pulls from, cumulative since the provider was installed. */
class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const reader = new CollectingReader();
let orderMetrics: typeof import("./order-metrics.js").orderMetrics;

beforeAll(async () => {
  // Instruments made before a provider is installed stay no-ops: load the module after.
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  ({ orderMetrics } = await import("./order-metrics.js"));
});

async function settleTimes(): Promise<Histogram> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .find((each) => each.descriptor.name === "shopmesh.orders.settle.duration");
  const point = metric?.dataPoints.find((each) => each.attributes["order.status"] === "confirmed");
  return (point?.value as Histogram | undefined) ?? { count: 0, sum: 0, buckets: { boundaries: [], counts: [] } };
}

function confirmation(createdAt: Date): AdvancedOrder {
  return {
    orderId: "0b5d7a52-55c4-4f86-9c8c-6b0f7d1f0a11",
    order: { status: "confirmed", customerId: "customer", totalMinor: 1999n, currency: "EUR", createdAt },
    from: "reserved",
    next: { status: "confirmed", reason: "payment captured", announce: "confirmed" },
  };
}

test("a checkout's settle time is measured from its placement", async () => {
  const before = await settleTimes();
  const now = Date.now();
  orderMetrics.advanced([confirmation(new Date(now - 40))], now);
  const after = await settleTimes();
  expect(after.count - before.count).toBe(1);
  expect((after.sum ?? 0) - (before.sum ?? 0)).toBe(40);
});

test("a database clock ahead of this process's counts a fast checkout as settled at once, not lost", async () => {
  const before = await settleTimes();
  const now = Date.now();
  orderMetrics.advanced([confirmation(new Date(now + 25))], now);
  const after = await settleTimes();
  expect(after.count - before.count).toBe(1);
  expect((after.sum ?? 0) - (before.sum ?? 0)).toBe(0);
});
