import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { type BatchedEvent, type Outbox, onTxBatch } from "@shopmesh/events";
import { StockRejectedSchema, StockReservedSchema } from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import { PaymentCapturedSchema, PaymentDeclinedSchema } from "@shopmesh/gen/shopmesh/payment/v1/payment_events_pb.js";
import type { ConsumerSpec } from "@shopmesh/runtime";
import { advanceOrders, type OrderStep } from "./advance-order.js";
import { orderMetrics } from "./order-metrics.js";

/**
 * The saga outcomes the order service reacts to: stock reserved or rejected
 * (INVENTORY stream), payment captured or declined (PAYMENTS stream). Each maps to
 * an order event; a batch of them advances its orders with a few statements.
 */
export function orderConsumers(outbox: Outbox): ConsumerSpec[] {
  const advance = <Desc extends DescMessage>(schema: Desc, toStep: (event: MessageShape<Desc>) => OrderStep) =>
    onTxBatch(schema, async (events: readonly BatchedEvent<Desc>[], tx) => {
      const advanced = await advanceOrders(
        tx,
        outbox,
        events.map(({ event }) => toStep(event)),
      );
      orderMetrics.advanced(advanced);
    });
  return [
    {
      name: "order",
      stream: "INVENTORY",
      subscriptions: [
        advance(StockReservedSchema, ({ orderId }) => ({ orderId, event: { kind: "stock-reserved" } })),
        advance(StockRejectedSchema, ({ orderId, shortages }) => ({
          orderId,
          event: {
            kind: "stock-rejected",
            reason: `out of stock: ${shortages.map((shortage) => shortage.sku).join(", ")}`,
          },
        })),
      ],
    },
    {
      name: "order",
      stream: "PAYMENTS",
      subscriptions: [
        advance(PaymentCapturedSchema, ({ orderId, paymentId }) => ({
          orderId,
          event: { kind: "payment-captured", paymentId },
        })),
        advance(PaymentDeclinedSchema, ({ orderId, reason }) => ({
          orderId,
          event: { kind: "payment-declined", reason: reason || "payment declined" },
        })),
      ],
    },
  ];
}
