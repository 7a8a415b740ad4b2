import { randomUUID } from "node:crypto";
import { createEventCatalog, createOutbox } from "@shopmesh/events";
import {
  OrderCancelledSchema,
  OrderPlacedSchema,
  OrderRejectedSchema,
} from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { withTx } from "@shopmesh/pg";
import { describe, expect, it } from "vitest";
import { useOrderDatabase } from "../test/order-database.js";
import { advanceOrder } from "./advance-order.js";
import { findCustomerOrder, insertOrders } from "./order-store.js";

const database = useOrderDatabase("order end cause");

const outbox = createOutbox(createEventCatalog([OrderPlacedSchema, OrderRejectedSchema, OrderCancelledSchema]));

async function placedOrder(customerId: string): Promise<string> {
  const orderId = randomUUID();
  const lines = [{ sku: "SKU-1", name: "Mug", quantity: 1, unitPriceMinor: 1250n }];
  const order = { orderId, customerId, lines, totalMinor: 1250n, currency: "EUR", idempotencyKey: orderId };
  await insertOrders(database.pool(), outbox, [
    { order: { ...order, requestHash: "hash" }, placed: outbox.prepare(OrderPlacedSchema, { orderId, customerId }) },
  ]);
  return orderId;
}

describe("an order's end cause during a rolling update", () => {
  it("is not left from an earlier ending when a replica of the release before ends the order again", async () => {
    const customerId = `rollout-${randomUUID()}`;
    const orderId = await placedOrder(customerId);
    // A replica of this release: inventory refused the stock.
    await withTx(database.pool(), (tx) =>
      advanceOrder(tx, outbox, orderId, { kind: "stock-rejected", reason: "out of stock: SKU-1" }),
    );
    expect((await findCustomerOrder(database.pool(), customerId, orderId))?.endCause).toBe("out-of-stock");
    // A replica of the release before (or one rolled back to) applies an operator's
    // Charge captured after the rejection. Its order.transitions statement (a1048e4,
    // services/order/src/order-store.ts) sets status, status_reason and payment_id —
    // it knows no end_cause.
    await database.pool().query(
      `UPDATE orders SET status = 'cancelled', payment_id = 'pay-1', updated_at = now(),
              status_reason = 'paid after its stock was refused: the payment is refunded'
        WHERE order_id = $1`,
      [orderId],
    );
    const order = await findCustomerOrder(database.pool(), customerId, orderId);
    expect(order?.status).toBe("cancelled");
    // OUT_OF_STOCK says "REJECTED: ... Nothing was charged" (order.proto), of an order
    // whose payment was captured and is being refunded.
    expect(order?.endCause).not.toBe("out-of-stock");
  });
});
