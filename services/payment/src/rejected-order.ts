import { recordCharge } from "./charge-payment.js";
import { chargeAttempts, findPayment, type InboxEntry } from "./payment-store.js";
import type { PaymentDeps } from "./use-case.js";

/**
 * Finishes, for an order inventory rejected, a charge whose outcome was never recorded.
 * The saga never charges a rejected order, but an operator's Charge may have: one whose
 * provider call captured and whose recording then failed (a lost connection, a statement
 * timeout) answered an error, and a capture that is not recorded reaches no order — the
 * order, rejected, never learns of it, so nothing gives the money back unless the call
 * is repeated. So when an attempt is on record and no payment, the provider is asked
 * what the order's key did, closing it (a call with it still on its way is declined),
 * and the outcome is recorded as the Charge would have: a capture's PaymentCaptured makes
 * the order cancel and have it refunded. Nothing attempted (the saga's rejections): no
 * write, no provider call.
 */
export async function settleRejectedOrder(deps: PaymentDeps, orderId: string, inbox: InboxEntry): Promise<void> {
  const attempts = await chargeAttempts(deps.pool, orderId);
  if (attempts === 0 || (await findPayment(deps.pool, orderId)) !== undefined) return;
  const charged = await deps.provider.cancelCharge(orderId);
  if (charged === undefined) return;
  const amount = { amountMinor: charged.amount, currency: charged.currency };
  // Undefined when the Charge recorded it meanwhile: the order learns it from that record.
  await recordCharge({ deps, request: { orderId, amount }, outcome: charged.outcome, attempts, inbox });
}
