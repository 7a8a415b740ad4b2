import { settleVoidedAttempts } from "./charge-payment.js";
import { decideCancel } from "./payment.js";
import { chargeAttempts, findPayment, type InboxEntry, insertVoided } from "./payment-store.js";
import { refundCaptured } from "./refund-payment.js";
import type { PaymentDeps } from "./use-case.js";

/**
 * Applies an order's cancellation to its payment: refunds a captured payment, writes
 * a `voided` tombstone when nothing was charged yet (so a StockReserved arriving
 * later charges nothing), and leaves a declined or refunded one alone. The change and
 * the consumer's `inbox` row of a refund are written in one statement (a tombstone
 * and its settling need none: the payment's status makes a redelivery a no-op).
 *
 * With a charge attempt on record and no payment, a Charge is at the provider, or
 * captured and could not record its outcome (it answered an error). Waiting for a
 * StockReserved to settle it, as a voided order's charge does, could wait for ever
 * (the order was cancelled before inventory reserved it), so the cancellation settles
 * it: the tombstone first, so that nothing is charged from then on, then the attempts
 * are read (a Charge that began before the tombstone has its own on record by then),
 * then the provider is asked what the key did (closing it) and a capture is refunded.
 * A call still on its way is declined, or, if it captured after all, refunds itself
 * when it records.
 */
export async function cancelPayment(
  deps: PaymentDeps,
  cancelled: { readonly orderId: string; readonly reason: string },
  inbox: InboxEntry,
): Promise<void> {
  const { orderId } = cancelled;
  const decision = decideCancel(await findPayment(deps.pool, orderId));
  switch (decision.kind) {
    case "refund":
      await refundCaptured(deps, decision.payment, refundReasonOf(cancelled.reason), inbox);
      return;
    case "void":
      // Nothing is written when a charge was recorded since the read; the retry refunds it.
      if ((await insertVoided(deps.pool, orderId)) === undefined) {
        throw new Error(`a payment of order ${orderId} was recorded concurrently; retrying`);
      }
      await settleAttempts(deps, orderId);
      return;
    case "settle":
      // Voided before: by this event, when the service stopped between the tombstone and
      // settling it (or by one that read no attempt just before a Charge began).
      await settleAttempts(deps, orderId);
      return;
    case "none":
      return;
  }
}

/**
 * Settles the charge attempts of a voided order. The attempts are read after the
 * tombstone is written: a Charge that begins after it is refused without a provider
 * call, and one that began before it has its attempt on record by then — read first,
 * a Charge beginning in between would be missed, and its capture never refunded if it
 * then could not record it. No inbox row: the payment's status makes a redelivery
 * settle nothing twice, and a tombstone may already carry this event's row (written
 * with it by an earlier version), which would keep the refund from being recorded.
 */
async function settleAttempts(deps: PaymentDeps, orderId: string): Promise<void> {
  const attempts = await chargeAttempts(deps.pool, orderId);
  if (attempts > 0) await settleVoidedAttempts(deps, orderId, attempts, undefined);
}

/** Why a cancelled order's payment is refunded: its cancellation, and the reason it gives. */
function refundReasonOf(cancellation: string): string {
  return cancellation ? `order cancelled: ${cancellation}` : "order cancelled";
}
