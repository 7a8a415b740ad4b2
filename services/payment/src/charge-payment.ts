import {
  assertChargeable,
  type ChargeRequest,
  decideCharge,
  orderCancelled,
  type Payment,
  refundKey,
  type VisiblePayment,
} from "./payment.js";
import { appendPaymentEvent } from "./payment-events.js";
import type { ChargeOutcome } from "./payment-provider.js";
import { beginCharge, findPayment, insertOutcome, refundVoided } from "./payment-store.js";
import { ownTransaction, type PaymentDeps, type Transaction } from "./use-case.js";

/**
 * Charges an order once, for the StockReserved consumer and the Charge RPC alike:
 * 1. read the order's payment (recording the provider call about to be made);
 *    an existing one is answered again;
 * 2. call the provider outside any transaction, with the order id as idempotency key,
 *    so a crash or retry never captures twice (TransientProviderError propagates:
 *    the caller retries);
 * 3. record the outcome and its event in `transaction`. If the order was cancelled
 *    meanwhile (a tombstone won the race), the captured money is refunded.
 *
 * Throws PaymentError ORDER_CANCELLED when the order was cancelled before anything
 * was charged, and AMOUNT_MISMATCH when it was charged a different amount.
 */
export async function chargePayment(
  deps: PaymentDeps,
  request: ChargeRequest,
  transaction: Transaction = ownTransaction(deps.pool),
): Promise<VisiblePayment> {
  assertChargeable(request);
  const state = await beginCharge(deps.pool, request.orderId);
  const decision = decideCharge(request, state);
  if (decision.kind === "settled") return decision.payment;
  const outcome = await deps.provider.charge({
    idempotencyKey: request.orderId,
    amount: request.amount.amountMinor,
    currency: request.amount.currency,
    token: request.token,
  });
  const charge = { deps, request, outcome, attempts: state.attemptsMade, transaction };
  if (decision.kind === "compensate") return refundCancelledCharge(charge);
  try {
    return await recordOutcome(charge);
  } catch (error) {
    if (error instanceof CancelledMeanwhile) return refundCancelledCharge(charge);
    throw error;
  }
}

interface Charge {
  readonly deps: PaymentDeps;
  readonly request: ChargeRequest;
  readonly outcome: ChargeOutcome;
  readonly attempts: number;
  readonly transaction: Transaction;
}

/** Thrown inside the recording transaction to roll it back, inbox row included. */
class CancelledMeanwhile extends Error {}

async function recordOutcome({ deps, request, outcome, attempts, transaction }: Charge): Promise<VisiblePayment> {
  const payment = await transaction(async (tx) => {
    const inserted = await insertOutcome(tx, { orderId: request.orderId, amount: request.amount, outcome, attempts });
    if (inserted) {
      await appendPaymentEvent(deps.outbox, tx, inserted);
      return inserted;
    }
    const existing = await findPayment(tx, request.orderId);
    if (existing?.status === "voided" && outcome.outcome === "captured") throw new CancelledMeanwhile();
    return existing;
  });
  return visibleOrCancelled(request.orderId, payment ?? (await findPayment(deps.pool, request.orderId)));
}

/**
 * Gives back money captured for an order that was cancelled first. The inbox row
 * commits only with the refunded payment, so a crash before that retries the event,
 * which then finds the tombstone with recorded attempts and comes back here.
 */
async function refundCancelledCharge({ deps, request, outcome, attempts, transaction }: Charge) {
  if (outcome.outcome === "declined") throw orderCancelled(request.orderId);
  const refund = await deps.provider.refund({
    idempotencyKey: refundKey(request.orderId),
    reference: outcome.reference,
    amount: request.amount.amountMinor,
  });
  const payment = await transaction(async (tx) => {
    const refunded = await refundVoided(tx, {
      orderId: request.orderId,
      amount: request.amount,
      providerReference: outcome.reference,
      refundReference: refund.reference,
      attempts,
    });
    if (refunded) await appendPaymentEvent(deps.outbox, tx, refunded);
    return refunded;
  });
  return visibleOrCancelled(request.orderId, payment ?? (await findPayment(deps.pool, request.orderId)));
}

function visibleOrCancelled(orderId: string, payment: Payment | undefined): VisiblePayment {
  if (payment === undefined) throw new Error(`the payment of order ${orderId} vanished after recording`);
  if (payment.status === "voided") throw orderCancelled(orderId);
  return payment;
}
