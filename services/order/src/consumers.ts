import { type Outbox, onTx } from "@shopmesh/events";
import { StockRejectedSchema, StockReservedSchema } from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import { PaymentCapturedSchema, PaymentDeclinedSchema } from "@shopmesh/gen/shopmesh/payment/v1/payment_events_pb.js";
import type { ConsumerSpec } from "@shopmesh/runtime";
import type pg from "pg";
import { advanceOrder } from "./advance-order.js";
import type { OrderEvent } from "./order.js";

/**
 * The saga outcomes the order service reacts to: stock reserved or rejected
 * (INVENTORY stream), payment captured or declined (PAYMENTS stream).
 */
export function orderConsumers(outbox: Outbox): ConsumerSpec[] {
  const advance = (tx: pg.ClientBase, orderId: string, event: OrderEvent) => advanceOrder(tx, outbox, orderId, event);
  return [
    {
      name: "order",
      stream: "INVENTORY",
      subscriptions: [
        onTx(StockReservedSchema, async (event, tx) => {
          await advance(tx, event.orderId, { kind: "stock-reserved" });
        }),
        onTx(StockRejectedSchema, async (event, tx) => {
          const skus = event.shortages.map((shortage) => shortage.sku).join(", ");
          await advance(tx, event.orderId, { kind: "stock-rejected", reason: `out of stock: ${skus}` });
        }),
      ],
    },
    {
      name: "order",
      stream: "PAYMENTS",
      subscriptions: [
        onTx(PaymentCapturedSchema, async (event, tx) => {
          await advance(tx, event.orderId, { kind: "payment-captured", paymentId: event.paymentId });
        }),
        onTx(PaymentDeclinedSchema, async (event, tx) => {
          await advance(tx, event.orderId, {
            kind: "payment-declined",
            reason: event.reason || "payment declined",
          });
        }),
      ],
    },
  ];
}
