import { on, PermanentEventError } from "@shopmesh/events";
import { type StockReserved, StockReservedSchema } from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import { OrderCancelledSchema, OrderRejectedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import type { ConsumerSpec } from "@shopmesh/runtime";
import { canonicalUuid } from "@shopmesh/server";
import type { Logger } from "pino";
import { cancelPayment } from "./cancel-payment.js";
import { chargePayment } from "./charge-payment.js";
import { type ChargeRequest, isOrderId, PaymentError } from "./payment.js";
import { TransientProviderError } from "./payment-provider.js";
import { settleRejectedOrder } from "./rejected-order.js";
import type { PaymentDeps } from "./use-case.js";

/**
 * Retries come quickly, to ride out a provider's brief transient failures at once. A
 * provider that keeps failing transiently (an outage, a timeout) is retried without
 * counting as an attempt for ~8 minutes: 500 deliveries a second apart, then the
 * dead-letter stream and its alert. (An unreachable database is waited out with the
 * pulls paused, using no deliveries.) A charge or a refund owed for a cancelled order
 * must outlast an outage of a few seconds, and the same idempotency key on every call
 * keeps the retries from moving money twice. Any other failure (a bug, a row in an
 * unexpected state) is dead-lettered after 8 attempts.
 */
const retryPolicy = {
  maxAttempts: 8,
  maxDeliveries: 500,
  retryDelaysMs: [50, 100, 200, 500, 1_000],
  isDependencyFailure: (error: unknown) => error instanceof TransientProviderError,
} as const;

/** The durable consumers' name, which is also their key in the inbox. */
const consumer = "payment";
/** The durable of OrderRejected: a second one on ORDERS, which has `payment` for OrderCancelled. */
const rejections = "payment-rejections";

/**
 * The payment service's durable consumers: StockReserved on INVENTORY charges the
 * order and OrderCancelled on ORDERS refunds or voids its payment (both named
 * "payment"); OrderRejected on ORDERS settles an operator's charge of the order that
 * was never recorded ("payment-rejections"). Each reads only its subject: a durable
 * reading both ORDERS subjects would be delivered (and ack) the stream's two other
 * events of every checkout, as nats-server 2.9 filters a durable on one subject. They
 * stay apart: a consumer handles one order's events one at a time, and a cancellation
 * or rejection must be able to act while that order's charge is still with the provider.
 */
export function createPaymentConsumers(deps: PaymentDeps, logger: Logger): ConsumerSpec[] {
  return [
    {
      name: consumer,
      ...retryPolicy,
      subscriptions: [
        on(StockReservedSchema, async (event, context) => {
          try {
            await chargePayment(deps, chargeRequestOf(event), { consumer, eventId: context.eventId });
          } catch (error) {
            if (!(error instanceof PaymentError)) throw error;
            if (error.code === "PAYMENT.INVALID_CHARGE") throw new PermanentEventError(error.message);
            logger.info({ orderId: event.orderId, code: error.code }, `StockReserved not charged: ${error.message}`);
          }
        }),
      ],
    },
    {
      name: consumer,
      ...retryPolicy,
      subscriptions: [
        on(OrderCancelledSchema, async (event, context) => {
          if (!isOrderId(event.orderId)) throw new PermanentEventError(`order id "${event.orderId}" is not a UUID`);
          const cancelled = { orderId: canonicalUuid(event.orderId), reason: event.reason };
          await cancelPayment(deps, cancelled, { consumer, eventId: context.eventId });
        }),
      ],
    },
    {
      name: rejections,
      ...retryPolicy,
      subscriptions: [
        on(OrderRejectedSchema, async (event, context) => {
          if (!isOrderId(event.orderId)) throw new PermanentEventError(`order id "${event.orderId}" is not a UUID`);
          await settleRejectedOrder(deps, canonicalUuid(event.orderId), {
            consumer: rejections,
            eventId: context.eventId,
          });
        }),
      ],
    },
  ];
}

function chargeRequestOf(event: StockReserved): ChargeRequest {
  if (event.total === undefined) throw new PermanentEventError(`StockReserved of ${event.orderId} has no total`);
  return {
    // The provider's idempotency key: one spelling per order, as the RPCs have it.
    orderId: canonicalUuid(event.orderId),
    amount: { amountMinor: event.total.amountMinor, currency: event.total.currencyCode },
    token: event.paymentToken,
  };
}
