/**
 * The order state machine: every status an order can be in and every allowed
 * transition, as pure functions over plain data. Consumers and use cases ask this
 * module what happens; a transition it does not allow is ignored (stale or repeated
 * events), never an error that would block a consumer.
 */

/** Where an order stands. */
export type OrderStatus = "pending" | "reserved" | "confirmed" | "rejected" | "cancelled";

/** What can happen to an order. */
export type OrderEvent =
  | { readonly kind: "stock-reserved" }
  | { readonly kind: "stock-rejected"; readonly reason: string }
  | { readonly kind: "payment-captured"; readonly paymentId: string; readonly amount: Amount }
  | { readonly kind: "payment-declined"; readonly reason: string }
  | { readonly kind: "cancelled-by-customer"; readonly reason: string }
  /** Its stock was released, or its payment refunded, by an operator (internal RPCs). */
  | { readonly kind: "stock-released" }
  | { readonly kind: "payment-refunded"; readonly paymentId: string; readonly reason: string };

/**
 * Why an order ended REJECTED or CANCELLED. Whether money was taken follows from it:
 * nothing for out-of-stock and payment-declined; taken and given back for
 * payment-refunded and capture-refunded (a capture the order could not keep: another
 * sum than its total, or stock refused after it); given back if a capture was in flight
 * for customer and stock-released.
 */
export type EndCause =
  | "out-of-stock"
  | "payment-declined"
  | "customer"
  | "stock-released"
  | "payment-refunded"
  | "capture-refunded";

/**
 * Whether an order in this status can have ended for this cause: out-of-stock ends it
 * REJECTED, every other cause CANCELLED. A replica of the release before causes were
 * recorded (rolling out, or rolled back to) moves a REJECTED order to CANCELLED without
 * touching the cause, which must then not be read as the new ending's.
 */
export function isEndCauseOf(status: OrderStatus, cause: EndCause): boolean {
  return status === (cause === "out-of-stock" ? "rejected" : "cancelled");
}

/** A sum of money in minor units. */
export interface Amount {
  readonly amountMinor: bigint;
  readonly currency: string;
}

/** What of an order its transitions depend on: where it stands, and what it costs. */
export interface OrderState {
  readonly status: OrderStatus;
  readonly totalMinor: bigint;
  readonly currency: string;
}

/** The outcome of an allowed transition. */
export interface Transition {
  readonly status: OrderStatus;
  readonly reason: string;
  /** Why the order ends, when it ends REJECTED or CANCELLED. */
  readonly cause?: EndCause;
  readonly paymentId?: string;
  /** The event the order service announces, if any. */
  readonly announce?: "confirmed" | "rejected" | "cancelled";
}

/**
 * Statuses that end a checkout. Only a cancellation changes them afterwards: a
 * customer's or an operator's of a confirmed order, or a capture of a rejected one.
 */
export function isFinal(status: OrderStatus): boolean {
  return status === "confirmed" || status === "rejected" || status === "cancelled";
}

/**
 * The next state of an order after an event, or undefined when the event changes
 * nothing (a repeat, or stale because the order moved on).
 *
 * pending ─stock-reserved→ reserved ─payment-captured→ confirmed
 * pending ─stock-rejected→ rejected
 * pending|reserved ─payment-declined→ cancelled
 * pending|reserved ─payment-captured of another sum than the total→ cancelled (an operator's
 *   Charge for the wrong amount: confirming it would keep money the order does not add up to)
 * pending|reserved|confirmed ─cancelled-by-customer→ cancelled
 * A capture may overtake its reservation (different streams): pending ─payment-captured→ confirmed.
 *
 * An operator's internal RPCs can change stock or money under a live order; the
 * order follows, so that it never stays confirmed without both:
 * pending|reserved|confirmed ─stock-released|payment-refunded→ cancelled
 * confirmed ─stock-rejected→ cancelled (captured by a Charge RPC before inventory decided)
 * rejected ─payment-captured→ cancelled (the same two events, applied the other way round)
 * The cancellation's OrderCancelled makes payment refund and inventory release
 * whatever is left; for orders already cancelled these events are the compensation's
 * own echoes, and change nothing.
 */
export function transition(order: OrderState, event: OrderEvent): Transition | undefined {
  const { status } = order;
  switch (event.kind) {
    case "stock-reserved":
      return status === "pending" ? { status: "reserved", reason: "" } : undefined;
    case "stock-rejected":
      if (status === "pending") {
        return { status: "rejected", reason: event.reason, cause: "out-of-stock", announce: "rejected" };
      }
      return status === "confirmed"
        ? { status: "cancelled", reason: event.reason, cause: "capture-refunded", announce: "cancelled" }
        : undefined;
    case "payment-captured":
      if (status === "pending" || status === "reserved") {
        return isTotalOf(order, event.amount)
          ? { status: "confirmed", reason: "", paymentId: event.paymentId, announce: "confirmed" }
          : {
              status: "cancelled",
              reason: wrongSum(order, event.amount),
              cause: "capture-refunded",
              paymentId: event.paymentId,
              announce: "cancelled",
            };
      }
      // Captured by a Charge RPC, and applied after inventory refused the stock (or
      // recorded by payment's OrderRejected consumer): only OrderCancelled makes payment
      // give the money back.
      return status === "rejected"
        ? {
            status: "cancelled",
            reason: capturedAfterRejection,
            cause: "capture-refunded",
            paymentId: event.paymentId,
            announce: "cancelled",
          }
        : undefined;
    case "payment-declined":
      return status === "pending" || status === "reserved"
        ? { status: "cancelled", reason: event.reason, cause: "payment-declined", announce: "cancelled" }
        : undefined;
    case "cancelled-by-customer":
      return status === "pending" || status === "reserved" || status === "confirmed"
        ? { status: "cancelled", reason: customerReason(event.reason), cause: "customer", announce: "cancelled" }
        : undefined;
    case "stock-released":
      return status === "pending" || status === "reserved" || status === "confirmed"
        ? { status: "cancelled", reason: operatorReason(event), cause: "stock-released", announce: "cancelled" }
        : undefined;
    case "payment-refunded":
      // The payment is recorded even when its capture never reached the order (an
      // operator refunded a PENDING order's payment): the order then says a payment was
      // taken and given back, where without one a reader would take it that nothing was.
      return status === "pending" || status === "reserved" || status === "confirmed"
        ? {
            status: "cancelled",
            reason: operatorReason(event),
            cause: "payment-refunded",
            paymentId: event.paymentId,
            announce: "cancelled",
          }
        : undefined;
  }
}

/**
 * What an event about an order that does not exist calls for. Only an operator's
 * internal RPC makes one (a Charge, ReleaseStock or Refund for an id this service
 * never issued): money captured for it must go back — the OrderCancelled announced
 * for the id makes payment refund it and inventory release anything held under it —
 * and nothing else needs doing (the release or refund is the end of it).
 */
export function forNoOrder(event: OrderEvent): { readonly reason: string; readonly announce: "cancelled" } | undefined {
  return event.kind === "payment-captured"
    ? { reason: "captured for no order: the payment is refunded", announce: "cancelled" }
    : undefined;
}

function isTotalOf(order: OrderState, amount: Amount): boolean {
  return amount.amountMinor === order.totalMinor && amount.currency === order.currency;
}

/** Why an order paid another sum than its total (an operator's Charge) is cancelled. */
function wrongSum(order: OrderState, { amountMinor, currency }: Amount): string {
  return `captured ${amountMinor} ${currency} for a total of ${order.totalMinor} ${order.currency} (minor units): the payment is refunded`;
}

const capturedAfterRejection = "paid after its stock was refused: the payment is refunded";

/**
 * A customer's own words follow a fixed opening: a reason the caller chose can then never
 * pass for one the saga recorded — a decline's, which a reader takes to mean that nothing
 * was charged, where a capture in flight at the cancellation is refunded instead.
 */
function customerReason(reason: string): string {
  return reason ? `${customerReasonOpening}: ${reason}` : customerReasonOpening;
}

const customerReasonOpening = "cancelled by the customer";

/** Why an operator's release or refund cancelled an order, with the refund's own reason when it gave one. */
function operatorReason(event: Extract<OrderEvent, { kind: "stock-released" | "payment-refunded" }>): string {
  if (event.kind === "stock-released") return "its stock was released";
  return event.reason ? `its payment was refunded: ${event.reason}` : "its payment was refunded";
}

/** A priced line of an order. */
export interface OrderLine {
  readonly sku: string;
  readonly name: string;
  readonly quantity: number;
  readonly unitPriceMinor: bigint;
}

/** One status an order entered. */
export interface StatusChange {
  readonly status: OrderStatus;
  readonly reason: string;
  readonly at: Date;
}

/** An order as the service keeps it. */
export interface Order {
  readonly orderId: string;
  readonly customerId: string;
  readonly status: OrderStatus;
  readonly statusReason: string;
  /** Why it ended, once REJECTED or CANCELLED (undefined for orders ended before causes were recorded). */
  readonly endCause?: EndCause;
  readonly lines: readonly OrderLine[];
  readonly totalMinor: bigint;
  readonly currency: string;
  readonly paymentId: string;
  readonly history: readonly StatusChange[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/**
 * The most a Money may hold (money.proto's rule on amount_minor): an order's total past
 * it could be neither answered nor charged — PaymentService refuses such an amount.
 */
export const maxAmountMinor = 100_000_000_000n;

/** The sum of the lines' totals. */
export function totalOf(lines: readonly OrderLine[]): bigint {
  return lines.reduce((sum, line) => sum + line.unitPriceMinor * BigInt(line.quantity), 0n);
}
