import { installMetricReader } from "@shopmesh/testing";
import { beforeAll, expect, test } from "vitest";
import type { AdvancedOrder } from "./advance-order.js";

// Before the module is loaded: it creates its instruments when it loads.
const measured = installMetricReader();
let orderMetrics: typeof import("./order-metrics.js").orderMetrics;

beforeAll(async () => {
  ({ orderMetrics } = await import("./order-metrics.js"));
});

const settleTime = "shopmesh.orders.settle.duration";
const confirmed = { "order.status": "confirmed" };

function confirmation(createdAt: Date): AdvancedOrder {
  return {
    orderId: "0b5d7a52-55c4-4f86-9c8c-6b0f7d1f0a11",
    order: { status: "confirmed", customerId: "customer", totalMinor: 1999n, currency: "EUR", createdAt },
    from: "reserved",
    next: { status: "confirmed", reason: "payment captured", announce: "confirmed" },
  };
}

test("a checkout's settle time is measured from its placement", async () => {
  const before = await measured.collect();
  const now = Date.now();
  orderMetrics.advanced([confirmation(new Date(now - 40))], now);
  const after = await measured.collect();
  expect(after.count(settleTime, confirmed) - before.count(settleTime, confirmed)).toBe(1);
  expect(after.sum(settleTime, confirmed) - before.sum(settleTime, confirmed)).toBe(40);
});

test("a database clock ahead of this process's counts a fast checkout as settled at once, not lost", async () => {
  const before = await measured.collect();
  const now = Date.now();
  orderMetrics.advanced([confirmation(new Date(now + 25))], now);
  const after = await measured.collect();
  expect(after.count(settleTime, confirmed) - before.count(settleTime, confirmed)).toBe(1);
  expect(after.sum(settleTime, confirmed) - before.sum(settleTime, confirmed)).toBe(0);
});

test("revenue is gross; a confirmed order cancelled later is counted as refunded, a cancelled unconfirmed one is not", async () => {
  const revenue = "shopmesh.orders.revenue";
  const refunded = "shopmesh.orders.revenue.refunded";
  const eur = { currency: "EUR" };
  const cancellation = (from: AdvancedOrder["from"]): AdvancedOrder => ({
    ...confirmation(new Date()),
    order: { status: "cancelled", customerId: "customer", totalMinor: 500n, currency: "EUR", createdAt: new Date() },
    from,
    next: { status: "cancelled", reason: "customer", announce: "cancelled" },
  });
  // A currency's series reads 0 at its first collection: these come first.
  orderMetrics.advanced([confirmation(new Date()), cancellation("confirmed")]);
  await measured.collect();
  const before = await measured.collect();
  orderMetrics.advanced([confirmation(new Date()), cancellation("confirmed"), cancellation("reserved")]);
  const after = await measured.collect();
  expect({
    revenue: after.total(revenue, eur) - before.total(revenue, eur),
    refunded: after.total(refunded, eur) - before.total(refunded, eur),
  }).toEqual({ revenue: 1999, refunded: 500 });
});
