import type { Outbox } from "@shopmesh/events";
import { withTx } from "@shopmesh/pg";
import type pg from "pg";
import { advanceOrder } from "./advance-order.js";
import { OrderError } from "./errors.js";
import { orderMetrics } from "./order-metrics.js";
import { findCustomerOrder, lockOrders } from "./order-store.js";

/**
 * Cancels one of the customer's orders. Inventory releases its stock and payment
 * refunds a capture when they see the OrderCancelled event. Cancelling a cancelled
 * order answers it unchanged; a rejected order cannot be cancelled.
 */
export async function cancelOrder(
  deps: { pool: pg.Pool; outbox: Outbox },
  customerId: string,
  orderId: string,
  reason: string,
) {
  const advanced = await withTx(deps.pool, async (tx) => {
    const current = (await lockOrders(tx, [orderId])).get(orderId);
    if (!current || current.customerId !== customerId) throw new OrderError("ORDER_NOT_FOUND", "no such order");
    if (current.status === "rejected") {
      throw new OrderError("ORDER_NOT_CANCELLABLE", "a rejected order cannot be cancelled");
    }
    return advanceOrder(tx, deps.outbox, orderId, { kind: "cancelled-by-customer", reason });
  });
  orderMetrics.advanced([advanced]);
  const order = await findCustomerOrder(deps.pool, customerId, orderId);
  if (!order) throw new OrderError("ORDER_NOT_FOUND", "no such order");
  return order;
}
