import type { MessageShape } from "@bufbuild/protobuf";
import { type BatchedEvent, type Outbox, onTxBatch } from "@shopmesh/events";
import {
  StockRejectedSchema,
  StockReleasedSchema,
  StockReservedSchema,
} from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import {
  PaymentCapturedSchema,
  PaymentDeclinedSchema,
  PaymentRefundedSchema,
} from "@shopmesh/gen/shopmesh/payment/v1/payment_events_pb.js";
import { afterCommit } from "@shopmesh/pg";
import type { ConsumerSpec } from "@shopmesh/runtime";
import { canonicalUuid } from "@shopmesh/server";
import type pg from "pg";
import type { Logger } from "pino";
import { advanceOrders, type OrderStep } from "./advance-order.js";
import { orderMetrics } from "./order-metrics.js";

/**
 * The saga outcomes the order service reacts to: stock reserved, rejected or
 * released (INVENTORY stream), payment captured, declined or refunded (PAYMENTS
 * stream), read by one consumer. (Releases and refunds matter when an operator's
 * RPC made them; see order.ts.) Each maps to an order event; the outcomes at hand, whatever their types,
 * advance their orders together with a few statements. They are counted once the
 * transaction commits: the consumer may roll a batch back and apply its events again
 * one by one (an event applied before, a failed COMMIT), which would count them twice.
 * An outcome for an order that does not exist (an operator's RPC for a wrong id) is
 * said in a warning; a capture's is cancelled, so that it is refunded.
 */
export function orderConsumers(outbox: Outbox, logger: Logger): ConsumerSpec[] {
  const advance = async (events: readonly BatchedEvent<SagaOutcome>[], tx: pg.PoolClient) => {
    const noOrder: { orderId: string; event: string; announced: string }[] = [];
    const advanced = await advanceOrders(
      tx,
      outbox,
      events.map(({ event }) => stepOf(event)),
      ({ orderId, event }, announced) =>
        noOrder.push({ orderId, event: event.kind, announced: announced ?? "nothing" }),
    );
    afterCommit(tx, () => {
      orderMetrics.advanced(advanced);
      for (const step of noOrder) logger.warn(step, "saga outcome for an order that does not exist");
    });
  };
  return [
    {
      name: "order",
      subscriptions: sagaOutcomes.map((schema) => onTxBatch(schema, advance)),
    },
  ];
}

const sagaOutcomes = [
  StockReservedSchema,
  StockRejectedSchema,
  StockReleasedSchema,
  PaymentCapturedSchema,
  PaymentDeclinedSchema,
  PaymentRefundedSchema,
];

type SagaOutcome = (typeof sagaOutcomes)[number];

function stepOf(event: MessageShape<SagaOutcome>): OrderStep {
  // In the form PostgreSQL answers uuids in, which a batch's rows are matched by.
  const orderId = canonicalUuid(event.orderId);
  switch (event.$typeName) {
    case "shopmesh.inventory.v1.StockReserved":
      return { orderId, event: { kind: "stock-reserved" } };
    case "shopmesh.inventory.v1.StockRejected":
      return {
        orderId,
        event: {
          kind: "stock-rejected",
          reason: `out of stock: ${event.shortages.map((shortage) => shortage.sku).join(", ")}`,
        },
      };
    case "shopmesh.payment.v1.PaymentCaptured":
      return {
        orderId,
        event: {
          kind: "payment-captured",
          paymentId: event.paymentId,
          amount: { amountMinor: event.amount?.amountMinor ?? 0n, currency: event.amount?.currencyCode ?? "" },
        },
      };
    case "shopmesh.payment.v1.PaymentDeclined":
      return { orderId, event: { kind: "payment-declined", reason: event.reason || "payment declined" } };
    case "shopmesh.inventory.v1.StockReleased":
      return { orderId, event: { kind: "stock-released" } };
    case "shopmesh.payment.v1.PaymentRefunded":
      return { orderId, event: { kind: "payment-refunded", paymentId: event.paymentId, reason: event.reason } };
  }
}
