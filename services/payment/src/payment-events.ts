import type { Outbox, OutboxRow } from "@shopmesh/events";
import {
  PaymentCapturedSchema,
  PaymentDeclinedSchema,
  PaymentRefundedSchema,
} from "@shopmesh/gen/shopmesh/payment/v1/payment_events_pb.js";
import type { Money } from "./payment.js";
import type { NewOutcome } from "./payment-store.js";

/**
 * The outbox row of PaymentCaptured or PaymentDeclined for a charge's outcome,
 * prepared before the statement that records the outcome writes it, so the payment
 * and its event commit together in one round trip.
 */
export function outcomeEvent(outbox: Outbox, { orderId, paymentId, amount, outcome }: NewOutcome): OutboxRow {
  return outcome.outcome === "captured"
    ? outbox.prepare(PaymentCapturedSchema, { orderId, paymentId, amount: money(amount) })
    : outbox.prepare(PaymentDeclinedSchema, { orderId, paymentId, reason: outcome.reason });
}

/** The outbox row of PaymentRefunded for a payment refunded in full, prepared likewise. */
export function refundEvent(
  outbox: Outbox,
  { orderId, paymentId, amount }: { readonly orderId: string; readonly paymentId: string; readonly amount: Money },
  reason: string,
): OutboxRow {
  return outbox.prepare(PaymentRefundedSchema, { orderId, paymentId, amount: money(amount), reason });
}

function money(amount: Money) {
  return { amountMinor: amount.amountMinor, currencyCode: amount.currency };
}
