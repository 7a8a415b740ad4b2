import { type CapturedPayment, decideRefund, refundKey, type VisiblePayment } from "./payment.js";
import { refundEvent } from "./payment-events.js";
import { findPayment, type InboxEntry, markRefunded } from "./payment-store.js";
import type { PaymentDeps } from "./use-case.js";

/**
 * Refunds an order's captured payment in full, for the Refund RPC, recording why.
 * Idempotent: a refunded payment is answered again, with its first reason. Throws
 * PaymentError NOT_CAPTURED when there is nothing captured to refund;
 * TransientProviderError propagates.
 */
export async function refundPayment(deps: PaymentDeps, orderId: string, reason: string): Promise<VisiblePayment> {
  const decision = decideRefund(orderId, await findPayment(deps.pool, orderId));
  if (decision.kind === "settled") return decision.payment;
  return refundCaptured(deps, decision.payment, reason);
}

/**
 * Calls the provider outside any transaction with the order's refund key (one refund
 * per order, whoever asks, however often), then records the refund, its
 * PaymentRefunded event and the consumer's `inbox` row (none for the RPC) in one
 * statement.
 */
export async function refundCaptured(
  deps: PaymentDeps,
  payment: CapturedPayment,
  reason: string,
  inbox?: InboxEntry,
): Promise<VisiblePayment> {
  const refund = await deps.provider.refund({
    idempotencyKey: refundKey(payment.orderId),
    orderId: payment.orderId,
    reference: payment.providerReference,
    amount: payment.amount.amountMinor,
  });
  const event = refundEvent(deps.outbox, payment, reason);
  const refunded = await markRefunded(
    deps.pool,
    deps.outbox,
    payment.orderId,
    { reference: refund.reference, reason },
    event,
    inbox,
  );
  if (refunded && refunded.status !== "voided") return refunded;
  const current = await findPayment(deps.pool, payment.orderId);
  return current && current.status !== "voided" ? current : payment;
}
