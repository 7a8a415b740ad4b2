import { createMeter } from "@shopmesh/telemetry";
import type { AdvancedOrder } from "./advance-order.js";
import { isFinal } from "./order.js";

const meter = createMeter();
const orders = meter.createCounter("shopmesh.orders", {
  description: "Orders by the status they reached: placed, confirmed, rejected, cancelled",
});
/**
 * An observable counter of amounts per currency. Which currencies occur only orders
 * reveal, so a series cannot be started at 0 in advance like the status counts: a
 * currency's first collection reports 0 instead of its total, and the next one the
 * total — so increase() and rate() count the first order of each currency too. (With
 * several metric readers, the first to collect a currency is the one that sees its 0.)
 */
function amountsByCurrency(name: string, description: string) {
  const sums = new Map<string, { totalMinor: number; collected: boolean }>();
  meter.createObservableCounter(name, { description, unit: "{minor_unit}" }).addCallback((result) => {
    for (const [currency, sum] of sums) {
      result.observe(sum.collected ? sum.totalMinor : 0, { currency });
      sum.collected = true;
    }
  });
  return (currency: string, amountMinor: number) => {
    const sum = sums.get(currency);
    if (sum) sum.totalMinor += amountMinor;
    else sums.set(currency, { totalMinor: amountMinor, collected: false });
  };
}
/** Gross: an order confirmed and cancelled later stays in it, and is counted in `refunded` too. */
const addRevenue = amountsByCurrency(
  "shopmesh.orders.revenue",
  "Total of confirmed orders, in minor units of their currency (gross of later cancellations)",
);
const addRefunded = amountsByCurrency(
  "shopmesh.orders.revenue.refunded",
  "Total of confirmed orders cancelled later (their capture refunded), in minor units of their currency",
);
const settleTime = meter.createHistogram("shopmesh.orders.settle.duration", {
  description:
    "Time from an order being placed to its first final status (confirmed, rejected or cancelled): how long its checkout took",
  unit: "ms",
  advice: { explicitBucketBoundaries: [5, 10, 15, 25, 40, 60, 100, 160, 250, 400, 640, 1000, 1600, 2500, 5000, 10000] },
});

/** Business measurements of the checkout, recorded at the edges once the effect is known. */
export const orderMetrics = {
  /**
   * Starts every status's count at zero: a series that first appears at 1 is invisible
   * to PromQL's increase() and rate(), so a fresh process's first order of each status
   * would be missing from the dashboards. (Revenue starts each currency at zero as it
   * first occurs: see `amountsByCurrency`.)
   */
  declare(): void {
    const statuses: CountedStatus[] = ["placed", "confirmed", "rejected", "cancelled"];
    for (const status of statuses) orders.add(0, { "order.status": status });
  },
  placed(): void {
    orders.add(1, { "order.status": "placed" });
  },
  /**
   * Counts orders that reached a final status. Call it once the transaction that moved
   * them committed (after withTx, or through afterCommit): work that is rolled back and
   * applied again would count them twice.
   */
  advanced(steps: readonly (AdvancedOrder | undefined)[], now = Date.now()): void {
    for (const step of steps) {
      const status = step && finalStatusOf(step);
      if (!step || !status) continue;
      orders.add(1, { "order.status": status });
      // A checkout settles once. A confirmed order cancelled later (by its customer or
      // an operator) is counted as cancelled, but its age is no checkout's time: it
      // would page ShopmeshCheckoutSlow on a healthy mesh.
      if (!isFinal(step.from)) settleTime.record(settleMs(step, now), { "order.status": status });
      if (status === "confirmed") addRevenue(step.order.currency, Number(step.order.totalMinor));
      if (status === "cancelled" && step.from === "confirmed") {
        addRefunded(step.order.currency, Number(step.order.totalMinor));
      }
    }
  },
};

/**
 * How long an order took to settle: from its insert, stamped by PostgreSQL's clock, to
 * now on this process's clock. Two hosts' clocks disagree by a little, so a checkout
 * that settles fast can measure below zero; it counts as 0, since a histogram refuses a
 * negative value (and the SDK's warning is a line on stdout that is not JSON).
 */
function settleMs(step: AdvancedOrder, now: number): number {
  return Math.max(0, now - step.order.createdAt.getTime());
}

type CountedStatus = "placed" | NonNullable<AdvancedOrder["next"]["announce"]>;

function finalStatusOf({ next }: AdvancedOrder): AdvancedOrder["next"]["announce"] {
  return next.announce;
}
