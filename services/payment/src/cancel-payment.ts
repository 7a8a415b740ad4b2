import { decideCancel } from "./payment.js";
import { findPayment, insertVoided } from "./payment-store.js";
import { refundCaptured } from "./refund-payment.js";
import type { PaymentDeps, Transaction } from "./use-case.js";

/**
 * Applies an order's cancellation to its payment: refunds a captured payment, writes
 * a `voided` tombstone when nothing was charged yet (so a StockReserved arriving
 * later charges nothing), and leaves a declined, refunded or voided one alone.
 */
export async function cancelPayment(deps: PaymentDeps, orderId: string, transaction: Transaction): Promise<void> {
  const decision = decideCancel(await findPayment(deps.pool, orderId));
  switch (decision.kind) {
    case "refund":
      await refundCaptured(deps, decision.payment, transaction);
      return;
    case "void":
      await transaction(async (tx) => {
        const voided = await insertVoided(tx, orderId);
        // A charge recorded since the read: roll back (inbox included) and retry, which refunds it.
        if (voided === undefined) throw new Error(`a payment of order ${orderId} was recorded concurrently; retrying`);
      });
      return;
    case "none":
      return;
  }
}
