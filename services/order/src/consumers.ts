import { type EventContext, type Outbox, on } from "@shopmesh/events";
import { StockRejectedSchema, StockReservedSchema } from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import { PaymentCapturedSchema, PaymentDeclinedSchema } from "@shopmesh/gen/shopmesh/payment/v1/payment_events_pb.js";
import type { ConsumerSpec } from "@shopmesh/runtime";
import { advanceOrder } from "./advance-order.js";
import type { OrderEvent } from "./order.js";

/**
 * The saga outcomes the order service reacts to: stock reserved or rejected
 * (INVENTORY stream), payment captured or declined (PAYMENTS stream).
 */
export function orderConsumers(outbox: Outbox): ConsumerSpec[] {
  const advance = (context: EventContext, orderId: string, event: OrderEvent) =>
    context.transaction((tx) => advanceOrder(tx, outbox, orderId, event));
  return [
    {
      name: "order",
      stream: "INVENTORY",
      subscriptions: [
        on(StockReservedSchema, async (event, context) => {
          await advance(context, event.orderId, { kind: "stock-reserved" });
        }),
        on(StockRejectedSchema, async (event, context) => {
          const skus = event.shortages.map((shortage) => shortage.sku).join(", ");
          await advance(context, event.orderId, { kind: "stock-rejected", reason: `out of stock: ${skus}` });
        }),
      ],
    },
    {
      name: "order",
      stream: "PAYMENTS",
      subscriptions: [
        on(PaymentCapturedSchema, async (event, context) => {
          await advance(context, event.orderId, { kind: "payment-captured", paymentId: event.paymentId });
        }),
        on(PaymentDeclinedSchema, async (event, context) => {
          await advance(context, event.orderId, {
            kind: "payment-declined",
            reason: event.reason || "payment declined",
          });
        }),
      ],
    },
  ];
}
