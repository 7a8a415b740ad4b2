import { type CapturedPayment, decideRefund, refundKey, type VisiblePayment } from "./payment.js";
import { appendPaymentEvent } from "./payment-events.js";
import { findPayment, markRefunded } from "./payment-store.js";
import { ownTransaction, type PaymentDeps, type Transaction } from "./use-case.js";

/**
 * Refunds an order's captured payment in full, for the Refund RPC. Idempotent: a
 * refunded payment is answered again. Throws PaymentError NOT_CAPTURED when there is
 * nothing captured to refund; TransientProviderError propagates.
 */
export async function refundPayment(
  deps: PaymentDeps,
  orderId: string,
  transaction: Transaction = ownTransaction(deps.pool),
): Promise<VisiblePayment> {
  const decision = decideRefund(orderId, await findPayment(deps.pool, orderId));
  if (decision.kind === "settled") return decision.payment;
  return refundCaptured(deps, decision.payment, transaction);
}

/**
 * Calls the provider outside any transaction with the order's refund key (one refund
 * per order, whoever asks, however often), then records the refund and its
 * PaymentRefunded event in `transaction`.
 */
export async function refundCaptured(
  deps: PaymentDeps,
  payment: CapturedPayment,
  transaction: Transaction,
): Promise<VisiblePayment> {
  const refund = await deps.provider.refund({
    idempotencyKey: refundKey(payment.orderId),
    reference: payment.providerReference,
    amount: payment.amount.amountMinor,
  });
  const refunded = await transaction(async (tx) => {
    const row = await markRefunded(tx, payment.orderId, refund.reference);
    if (row) await appendPaymentEvent(deps.outbox, tx, row);
    return row;
  });
  if (refunded && refunded.status !== "voided") return refunded;
  const current = await findPayment(deps.pool, payment.orderId);
  return current && current.status !== "voided" ? current : payment;
}
