import { randomUUID } from "node:crypto";
import {
  assertChargeable,
  assertSameAmount,
  type ChargeRequest,
  decideCharge,
  orderCancelled,
  type Payment,
  refundKey,
  type VisiblePayment,
} from "./payment.js";
import { outcomeEvent, refundEvent } from "./payment-events.js";
import { type ChargeOutcome, IdempotencyConflictError } from "./payment-provider.js";
import { findPayment, type InboxEntry, refundVoided } from "./payment-store.js";
import type { PaymentDeps } from "./use-case.js";

/**
 * Charges an order once, for the StockReserved consumer and the Charge RPC alike:
 * 1. read the order's payment, recording the provider call about to be made (one
 *    statement); an existing one is answered again;
 * 2. call the provider outside any transaction, with the order id as idempotency key,
 *    so a crash or retry never captures twice (TransientProviderError propagates:
 *    the caller retries);
 * 3. record the outcome, its event and the consumer's `inbox` row (none for the RPC)
 *    in one statement. If a row was written meanwhile, that one is answered — unless
 *    it is a tombstone (the order was cancelled or rejected during the call): then
 *    nothing is recorded and the captured money is refunded.
 *
 * Two round trips when nothing races. Throws PaymentError ORDER_CANCELLED when the
 * order was cancelled or rejected before anything was charged, and AMOUNT_MISMATCH
 * when it was charged a different amount.
 */
export async function chargePayment(
  deps: PaymentDeps,
  request: ChargeRequest,
  inbox?: InboxEntry,
): Promise<VisiblePayment> {
  assertChargeable(request);
  const state = await deps.charges.begin(request.orderId);
  const decision = decideCharge(request, state);
  if (decision.kind === "settled") return decision.payment;
  if (decision.kind === "compensate") return settleCancelledAttempt(deps, request, state.attemptsMade, inbox);
  const { outcome, amount } = await chargeOrLearn(deps, request);
  const charge = { deps, request: { ...request, amount }, outcome, attempts: state.attemptsMade, inbox };
  const recorded = await recordCharge(charge);
  const current = recorded ?? (await findPayment(deps.pool, request.orderId));
  const payment =
    !recorded && current?.status === "voided" && outcome.outcome === "captured"
      ? await refundCancelledCharge(charge)
      : visibleOrCancelled(request.orderId, current);
  if ("amount" in payment) assertSameAmount(request, payment);
  return payment;
}

/**
 * Charges the order with its key, and answers the outcome and what it was for. When
 * another charge of the order, for another amount, reached the provider first (an
 * operator's Charge whose answer was lost, so no payment records it), the provider is
 * asked what that key did instead, closing the key if it did nothing yet: that is
 * then recorded and announced, so the order learns it — a capture of another sum
 * cancels the order, whose cancellation refunds it — and the request is answered
 * AMOUNT_MISMATCH. Acknowledging the event with nothing recorded would leave the
 * order waiting for ever, and a capture unrefunded.
 */
async function chargeOrLearn(deps: PaymentDeps, request: ChargeRequest) {
  try {
    const outcome = await deps.provider.charge({
      idempotencyKey: request.orderId,
      amount: request.amount.amountMinor,
      currency: request.amount.currency,
      token: request.token,
    });
    return { outcome, amount: request.amount };
  } catch (error) {
    if (!(error instanceof IdempotencyConflictError)) throw error;
    const keyed = await deps.provider.cancelCharge(request.orderId);
    const outcome: ChargeOutcome = keyed?.outcome ?? {
      outcome: "declined",
      reason: "charge cancelled: its key was first used for another amount",
    };
    const { amount, currency } = keyed ?? error.first;
    return { outcome, amount: { amountMinor: amount, currency } };
  }
}

/** An outcome from the provider, to record for an order. */
export interface Charge {
  readonly deps: PaymentDeps;
  /** The order and the amount its key charged. */
  readonly request: Pick<ChargeRequest, "orderId" | "amount">;
  readonly outcome: ChargeOutcome;
  readonly attempts: number;
  readonly inbox: InboxEntry | undefined;
}

/**
 * Records an outcome with its event and the consumer's inbox row; undefined when the
 * order already had a payment (or the event was applied).
 */
export function recordCharge({ deps, request, outcome, attempts, inbox }: Charge): Promise<Payment | undefined> {
  const charged = { paymentId: randomUUID(), orderId: request.orderId, amount: request.amount, outcome, attempts };
  return deps.charges.record({ outcome: charged, event: outcomeEvent(deps.outbox, charged), inbox });
}

/**
 * Settles the earlier charge attempts of an order voided since, for a charge request:
 * see {@link settleVoidedAttempts}. Money an attempt captured is refunded, all of it,
 * whatever this request asks; a request for another amount is then answered
 * AMOUNT_MISMATCH.
 */
async function settleCancelledAttempt(
  deps: PaymentDeps,
  request: ChargeRequest,
  attempts: number,
  inbox: InboxEntry | undefined,
): Promise<VisiblePayment> {
  const payment = await settleVoidedAttempts(deps, request.orderId, attempts, inbox);
  if (payment === undefined) throw orderCancelled(request.orderId);
  if ("amount" in payment) assertSameAmount(request, payment);
  return payment;
}

/**
 * Settles the charge attempts of a voided order (a crash, a failed call or one still
 * on its way left their outcome unknown): the provider cancels whatever the key did
 * instead of charging again — a replay would capture now if the first call never
 * arrived, after the order ended. A capture is refunded and the tombstone becomes the
 * refunded payment; answers it, or undefined when no attempt captured (none can any
 * more: the key is closed).
 */
export async function settleVoidedAttempts(
  deps: PaymentDeps,
  orderId: string,
  attempts: number,
  inbox: InboxEntry | undefined,
): Promise<VisiblePayment | undefined> {
  const charged = await deps.provider.cancelCharge(orderId);
  if (charged?.outcome.outcome !== "captured") return undefined;
  const amount = { amountMinor: charged.amount, currency: charged.currency };
  return refundCancelledCharge({ deps, request: { orderId, amount }, outcome: charged.outcome, attempts, inbox });
}

/**
 * Gives back money captured for an order that was cancelled or rejected first. The
 * inbox row is written only with the refunded payment, so a crash before that retries
 * the event, which then finds the tombstone with recorded attempts and comes back here.
 */
async function refundCancelledCharge({ deps, request, outcome, attempts, inbox }: Charge) {
  if (outcome.outcome === "declined") throw orderCancelled(request.orderId);
  const refund = await deps.provider.refund({
    idempotencyKey: refundKey(request.orderId),
    orderId: request.orderId,
    reference: outcome.reference,
    amount: request.amount.amountMinor,
  });
  const refunded = {
    paymentId: randomUUID(),
    orderId: request.orderId,
    amount: request.amount,
    providerReference: outcome.reference,
    refundReference: refund.reference,
    refundReason: capturedAfterCancellation,
    attempts,
  };
  const event = refundEvent(deps.outbox, refunded, refunded.refundReason);
  const payment = await refundVoided(deps.pool, deps.outbox, refunded, event, inbox);
  return visibleOrCancelled(request.orderId, payment ?? (await findPayment(deps.pool, request.orderId)));
}

const capturedAfterCancellation = "captured after its order was cancelled or rejected";

function visibleOrCancelled(orderId: string, payment: Payment | undefined): VisiblePayment {
  if (payment === undefined) throw new Error(`the payment of order ${orderId} vanished after recording`);
  if (payment.status === "voided") throw orderCancelled(orderId);
  return payment;
}
