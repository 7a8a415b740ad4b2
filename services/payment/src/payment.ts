/** An amount in integer minor units of an ISO 4217 currency. */
export interface Money {
  readonly amountMinor: bigint;
  readonly currency: string;
}

interface PaymentRecord {
  readonly paymentId: string;
  readonly orderId: string;
  /** Provider calls made for the charge. */
  readonly attempts: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/**
 * The one payment row of an order. `voided` is a tombstone: the order was cancelled,
 * or inventory rejected it, before anything was charged, and nothing ever may be.
 */
export type Payment = PaymentRecord &
  (
    | { readonly status: "captured"; readonly amount: Money; readonly providerReference: string }
    | { readonly status: "declined"; readonly amount: Money; readonly declineReason: string }
    | {
        readonly status: "refunded";
        readonly amount: Money;
        readonly providerReference: string;
        readonly refundReference: string;
        /** Why it was refunded ("" when refunded before reasons were kept). */
        readonly refundReason: string;
      }
    | { readonly status: "voided" }
  );

/** Where a payment stands. */
export type PaymentStatus = Payment["status"];

/** A payment callers can see: a tombstone is not a payment. */
export type VisiblePayment = Exclude<Payment, { status: "voided" }>;

/** A captured payment, the only kind that can be refunded. */
export type CapturedPayment = Extract<Payment, { status: "captured" }>;

/** What to charge for an order. */
export interface ChargeRequest {
  readonly orderId: string;
  readonly amount: Money;
  readonly token: string;
}

/** Stable codes of the payment rules, mapped to RPC codes at the edge. */
export type PaymentErrorCode =
  | "PAYMENT.INVALID_CHARGE"
  | "PAYMENT.AMOUNT_MISMATCH"
  | "PAYMENT.ORDER_CANCELLED"
  | "PAYMENT.NOT_CAPTURED"
  | "PAYMENT.NOT_FOUND";

/** A broken payment rule, with its stable code. */
export class PaymentError extends Error {
  override name = "PaymentError";
  constructor(
    readonly code: PaymentErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What the store knows about an order when a charge starts. */
export interface ChargeState {
  readonly payment?: Payment;
  /**
   * Provider calls recorded for the order: with no payment row, including the call
   * about to be made; with one, those made before it was written.
   */
  readonly attemptsMade: number;
}

/** What a charge request leads to. */
export type ChargeDecision =
  /** No payment yet: call the provider. */
  | { readonly kind: "charge" }
  /** Already charged (or declined, or refunded): answer it again, never charge twice. */
  | { readonly kind: "settled"; readonly payment: VisiblePayment }
  /**
   * Voided, but an earlier attempt may have reached the provider (a crash between its
   * call and recording the outcome, a call that failed): cancel whatever the key did at
   * the provider, never charge again, and refund what it captured.
   */
  | { readonly kind: "compensate" };

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is an order id (a UUID). */
export function isOrderId(value: string): boolean {
  return uuid.test(value);
}

/** Rejects a charge that can never succeed: no order id, a non-positive amount, no currency. */
export function assertChargeable(request: ChargeRequest): void {
  if (!isOrderId(request.orderId)) throw invalid(`order id "${request.orderId}" is not a UUID`);
  if (request.amount.amountMinor <= 0n) throw invalid(`amount must be greater than zero`);
  if (!/^[A-Z]{3}$/.test(request.amount.currency))
    throw invalid(`currency "${request.amount.currency}" is not ISO 4217`);
}

/** Decides a charge from what is recorded: at most one charge per order. */
export function decideCharge(request: ChargeRequest, state: ChargeState): ChargeDecision {
  const { payment } = state;
  if (payment === undefined) return { kind: "charge" };
  if (payment.status === "voided") {
    if (state.attemptsMade > 0) return { kind: "compensate" };
    throw orderCancelled(request.orderId);
  }
  assertSameAmount(request, payment);
  return { kind: "settled", payment };
}

/** Throws AMOUNT_MISMATCH unless the order's payment is for the amount requested. */
export function assertSameAmount(request: ChargeRequest, payment: { readonly amount: Money }): void {
  if (!sameMoney(payment.amount, request.amount)) throw amountMismatch(request.orderId, payment.amount, request.amount);
}

/** The order is (being) charged another amount than this request's. */
export function amountMismatch(orderId: string, charged: Money, requested: Money): PaymentError {
  return new PaymentError(
    "PAYMENT.AMOUNT_MISMATCH",
    `order ${orderId} was already charged ${format(charged)}, not ${format(requested)}`,
  );
}

/** What a refund request leads to: refund a captured payment, answer a refunded one again. */
export function decideRefund(
  orderId: string,
  payment: Payment | undefined,
):
  | { readonly kind: "refund"; readonly payment: CapturedPayment }
  | { readonly kind: "settled"; readonly payment: VisiblePayment } {
  if (payment?.status === "captured") return { kind: "refund", payment };
  if (payment?.status === "refunded") return { kind: "settled", payment };
  throw new PaymentError("PAYMENT.NOT_CAPTURED", `order ${orderId} has no captured payment to refund`);
}

/** What an order's cancellation does to its payment. */
export type CancelDecision =
  /** Nothing recorded yet: write the tombstone, so nothing is charged later, and settle any charge attempt. */
  | { readonly kind: "void" }
  /** Already voided: settle any charge attempt the tombstone left unsettled. */
  | { readonly kind: "settle" }
  | { readonly kind: "refund"; readonly payment: CapturedPayment }
  /** Declined or refunded: nothing to give back. */
  | { readonly kind: "none" };

/** Decides what an order's cancellation does to its payment. */
export function decideCancel(payment: Payment | undefined): CancelDecision {
  if (payment === undefined) return { kind: "void" };
  if (payment.status === "voided") return { kind: "settle" };
  return payment.status === "captured" ? { kind: "refund", payment } : { kind: "none" };
}

/** Answers a payment a caller may see; a missing or voided one is NOT_FOUND. */
export function visiblePayment(orderId: string, payment: Payment | undefined): VisiblePayment {
  if (payment === undefined || payment.status === "voided") {
    throw new PaymentError("PAYMENT.NOT_FOUND", `order ${orderId} has no payment`);
  }
  return payment;
}

/** The refund idempotency key of an order: one refund per order, whoever asks. */
export function refundKey(orderId: string): string {
  return `refund:${orderId}`;
}

/** The error for a charge of an order cancelled (or rejected) before anything was charged. */
export function orderCancelled(orderId: string): PaymentError {
  return new PaymentError(
    "PAYMENT.ORDER_CANCELLED",
    `order ${orderId} was cancelled or rejected before it was charged; it will not be charged`,
  );
}

function sameMoney(a: Money, b: Money): boolean {
  return a.amountMinor === b.amountMinor && a.currency === b.currency;
}

function format(money: Money): string {
  return `${money.amountMinor} ${money.currency} (minor units)`;
}

function invalid(message: string): PaymentError {
  return new PaymentError("PAYMENT.INVALID_CHARGE", message);
}
