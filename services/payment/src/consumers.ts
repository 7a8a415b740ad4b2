import { on, PermanentEventError } from "@shopmesh/events";
import { type StockReserved, StockReservedSchema } from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import { OrderCancelledSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import type { ConsumerSpec } from "@shopmesh/runtime";
import { canonicalUuid } from "@shopmesh/server";
import type { Logger } from "pino";
import { cancelPayment } from "./cancel-payment.js";
import { chargePayment } from "./charge-payment.js";
import { type ChargeRequest, isOrderId, PaymentError } from "./payment.js";
import { TransientProviderError } from "./payment-provider.js";
import type { PaymentDeps } from "./use-case.js";

/**
 * Retries come quickly, to ride out a provider's brief transient failures at once. A
 * provider that keeps failing transiently (an outage, a timeout) is waited out as an
 * unavailable database is, ~8 minutes: 500 deliveries a second apart, then the
 * dead-letter stream and its alert. A charge or a refund owed for a cancelled order
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

/**
 * The payment service's durable consumers (both named "payment"): StockReserved on
 * INVENTORY charges the order; OrderCancelled on ORDERS refunds or voids its payment.
 * Each reads only its subject. They stay two: a consumer handles one order's events
 * one at a time, and a cancellation must be able to act while that order's charge is
 * still with the provider.
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
