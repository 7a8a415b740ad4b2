import { decideCancel } from "./payment.js";
import { findPayment, type InboxEntry, insertVoided } from "./payment-store.js";
import { refundCaptured } from "./refund-payment.js";
import type { PaymentDeps } from "./use-case.js";

/**
 * Applies an order's cancellation to its payment: refunds a captured payment, writes
 * a `voided` tombstone when nothing was charged yet (so a StockReserved arriving
 * later charges nothing), and leaves a declined, refunded or voided one alone. The
 * change and the consumer's `inbox` row are written in one statement.
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
      // A charge recorded since the read: nothing is written (inbox included); the retry refunds it.
      if ((await insertVoided(deps.pool, orderId, inbox)) === undefined) {
        throw new Error(`a payment of order ${orderId} was recorded concurrently; retrying`);
      }
      return;
    case "none":
      return;
  }
}

/** Why a cancelled order's payment is refunded: its cancellation, and the reason it gives. */
function refundReasonOf(cancellation: string): string {
  return cancellation ? `order cancelled: ${cancellation}` : "order cancelled";
}
