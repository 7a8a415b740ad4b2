import { recordCharge, settleVoidedAttempts } from "./charge-payment.js";
import { chargeAttempts, findPayment, type InboxEntry, insertVoided } from "./payment-store.js";
import type { PaymentDeps } from "./use-case.js";

/**
 * Closes the payment of an order inventory rejected: it must never be charged, and a
 * charge already made of it must not be lost.
 * - Nothing attempted (the saga's rejections): a `voided` tombstone, as a cancellation
 *   leaves, so an operator's Charge after the rejection is refused without reaching the
 *   provider. One that began just before it is settled by the rejection, which reads
 *   the attempts again once the tombstone is written: the provider is asked what its key
 *   did (closing it) and a capture is refunded — the Charge may never record it.
 * - An attempt on record and no payment: an operator's Charge is at the provider, or
 *   captured and failed to record its outcome (a lost connection, a statement timeout;
 *   it answered an error). A capture that is not recorded reaches no order: the order,
 *   rejected, never learns of it. So the provider is asked what the order's key did,
 *   closing it (a call with it still on its way is declined), and the outcome is
 *   recorded as the Charge would have: a capture's PaymentCaptured makes the order
 *   cancel and have it refunded. A key that did nothing gets the tombstone.
 * - A payment on record: the order follows it (a capture cancels the rejected order).
 * Two reads and one write for the saga's rejections; no provider call.
 */
export async function settleRejectedOrder(deps: PaymentDeps, orderId: string, inbox: InboxEntry): Promise<void> {
  const attempts = await chargeAttempts(deps.pool, orderId);
  if (attempts > 0) {
    const payment = await findPayment(deps.pool, orderId);
    // Voided by this event before (the service stopped before settling what it found since).
    if (payment?.status === "voided") await settleVoidedAttempts(deps, orderId, attempts, undefined);
    if (payment !== undefined) return;
    const charged = await deps.provider.cancelCharge(orderId);
    if (charged !== undefined) {
      const amount = { amountMinor: charged.amount, currency: charged.currency };
      // Undefined when the Charge recorded it meanwhile: the order learns it from that record.
      await recordCharge({ deps, request: { orderId, amount }, outcome: charged.outcome, attempts, inbox });
      return;
    }
  }
  // Undefined when a payment was recorded since the read (a Charge that began before
  // it): the order follows that payment, and a redelivery finds it. No inbox row, as for
  // a cancellation: a redelivery after a stop before the settling below settles then.
  if ((await insertVoided(deps.pool, orderId)) === undefined) return;
  // A Charge that began after the read and before the tombstone has its attempt on record
  // by now: settled like a cancelled order's (its capture refunded), as it may never
  // record its outcome itself.
  const since = await chargeAttempts(deps.pool, orderId);
  if (since > attempts) await settleVoidedAttempts(deps, orderId, since, undefined);
}
