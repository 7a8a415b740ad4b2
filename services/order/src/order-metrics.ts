import { createMeter } from "@shopmesh/telemetry";
import type { AdvancedOrder } from "./advance-order.js";

const meter = createMeter();
const orders = meter.createCounter("shopmesh.orders", {
  description: "Orders by the status they reached: placed, confirmed, rejected, cancelled",
});
const revenue = meter.createCounter("shopmesh.orders.revenue", {
  description: "Total of confirmed orders, in minor units of their currency",
  unit: "{minor_unit}",
});
const settleTime = meter.createHistogram("shopmesh.orders.settle.duration", {
  description: "Time from an order being placed to its final status (confirmed, rejected or cancelled)",
  unit: "ms",
  advice: { explicitBucketBoundaries: [5, 10, 15, 25, 40, 60, 100, 160, 250, 400, 640, 1000, 1600, 2500, 5000, 10000] },
});

/** Business measurements of the checkout, recorded at the edges once the effect is known. */
export const orderMetrics = {
  /**
   * Starts every status's count at zero: a series that first appears at 1 is invisible
   * to PromQL's increase() and rate(), so a fresh process's first order of each status
   * would be missing from the dashboards. (Revenue is by currency, which only orders
   * reveal: a process's first revenue in a currency is counted from its second order.)
   */
  declare(): void {
    const statuses: CountedStatus[] = ["placed", "confirmed", "rejected", "cancelled"];
    for (const status of statuses) orders.add(0, { "order.status": status });
  },
  placed(): void {
    orders.add(1, { "order.status": "placed" });
  },
  /**
   * Counts orders that reached a final status. Recorded when the consumer's statements
   * succeeded; a batch whose commit then fails is re-applied event by event and may
   * count twice — the database, not this counter, is the record.
   */
  advanced(steps: readonly (AdvancedOrder | undefined)[], now = Date.now()): void {
    for (const step of steps) {
      const status = step && finalStatusOf(step);
      if (!step || !status) continue;
      orders.add(1, { "order.status": status });
      settleTime.record(now - step.order.createdAt.getTime(), { "order.status": status });
      if (status === "confirmed") revenue.add(Number(step.order.totalMinor), { currency: step.order.currency });
    }
  },
};

type CountedStatus = "placed" | NonNullable<AdvancedOrder["next"]["announce"]>;

function finalStatusOf({ next }: AdvancedOrder): AdvancedOrder["next"]["announce"] {
  return next.announce;
}
