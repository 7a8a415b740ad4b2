import { type Order, OrderEndCause, OrderStatus } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";

/** Where one checkout step stands. */
export type StepState = "done" | "active" | "waiting" | "failed" | "skipped";

/** One step of the checkout as the order page shows it. */
export interface Step {
  readonly key: "placed" | "reserved" | "paid" | "confirmed";
  readonly label: string;
  readonly state: StepState;
  readonly note: string;
}

/** The order's outcome in a sentence, with what to do next. */
export interface Outcome {
  readonly tone: "progress" | "success" | "failure";
  readonly title: string;
  readonly detail: string;
}

const finalStatuses = new Set([OrderStatus.CONFIRMED, OrderStatus.REJECTED, OrderStatus.CANCELLED]);

/** Whether the order no longer changes on its own. */
export function isFinal(status: OrderStatus): boolean {
  return finalStatuses.has(status);
}

/** Whether the customer may still cancel (the service answers a CANCELLED order unchanged). */
export function canCancel(status: OrderStatus): boolean {
  return status === OrderStatus.PENDING || status === OrderStatus.RESERVED || status === OrderStatus.CONFIRMED;
}

/** Human names of the statuses. */
export const statusLabel: Record<OrderStatus, string> = {
  [OrderStatus.UNSPECIFIED]: "Unknown",
  [OrderStatus.PENDING]: "Placed",
  [OrderStatus.RESERVED]: "Stock reserved",
  [OrderStatus.CONFIRMED]: "Confirmed",
  [OrderStatus.REJECTED]: "Rejected",
  [OrderStatus.CANCELLED]: "Cancelled",
};

/**
 * What became of the customer's money when an order was cancelled, from why it ended
 * (Order.end_cause): nothing was taken (the payment was declined), a capture was
 * refunded, or a capture may have happened and is refunded if so — a cancellation by
 * the customer or an operator's stock release while a charge was in flight, whose
 * capture the order never records. An order that ended before causes were recorded is
 * told as "refunded if taken" unless it has a payment id, which is true either way,
 * never as "nothing was charged".
 */
type CancelledPayment = "declined" | "refunded" | "refunded-if-taken";

function cancelledPayment(order: Pick<Order, "endCause" | "paymentId">): CancelledPayment {
  switch (order.endCause) {
    case OrderEndCause.PAYMENT_DECLINED:
      return "declined";
    case OrderEndCause.PAYMENT_REFUNDED:
    case OrderEndCause.CAPTURE_REFUNDED:
      return "refunded";
    default:
      return order.paymentId !== "" ? "refunded" : "refunded-if-taken";
  }
}

/** What cancelling an order in this status does with the customer's money, said beside Cancel. */
export function cancelConsequence(status: OrderStatus): string {
  return status === OrderStatus.CONFIRMED
    ? "You will be refunded in full."
    : "Reserved stock is released; a payment already taken is refunded in full.";
}

/** The four checkout steps of an order, from its status and history. */
export function orderSteps(order: Pick<Order, "status" | "statusReason" | "paymentId" | "history">): Step[] {
  const reached = new Set([order.status, ...order.history.map((change) => change.status)]);
  const confirmed = reached.has(OrderStatus.CONFIRMED);
  const paid = confirmed || order.paymentId !== "";
  const reserved = paid || reached.has(OrderStatus.RESERVED);
  const steps = [
    { key: "placed", label: "Order placed", failed: "Not placed", done: true },
    { key: "reserved", label: "Stock reserved", failed: "Stock not reserved", done: reserved },
    { key: "paid", label: "Payment captured", failed: "Payment not captured", done: paid },
    {
      key: "confirmed",
      label: "Confirmed",
      failed: confirmed ? "Cancelled after confirmation" : "Not confirmed",
      done: confirmed && order.status !== OrderStatus.CANCELLED,
    },
  ] as const;
  const ended = isFinal(order.status);
  const next = steps.findIndex((s) => !s.done);
  return steps.map(({ key, label, failed, done }, index): Step => {
    if (done) return { key, label, state: "done", note: "" };
    if (index === next && ended) return { key, label: failed, state: "failed", note: order.statusReason };
    if (index === next) return { key, label, state: "active", note: "" };
    return { key, label, state: ended ? "skipped" : "waiting", note: "" };
  });
}

/** The sentence at the top of the order page. */
export function orderOutcome(
  order: Pick<Order, "status" | "statusReason" | "endCause" | "paymentId" | "lines">,
): Outcome {
  switch (order.status) {
    case OrderStatus.CONFIRMED:
      return { tone: "success", title: "Confirmed", detail: "Paid and confirmed. Thank you for your order!" };
    case OrderStatus.REJECTED:
      return {
        tone: "failure",
        title: "Rejected: not enough stock",
        detail: `${shortageSentence(order)} Nothing was charged. Lower the quantity or choose another product, then order again.`,
      };
    case OrderStatus.CANCELLED:
      return cancelledOutcome(order);
    case OrderStatus.RESERVED:
      return { tone: "progress", title: "Stock reserved", detail: "Your items are set aside; taking the payment…" };
    default:
      return { tone: "progress", title: "Placed", detail: "We received your order and are reserving the stock…" };
  }
}

function cancelledOutcome(order: Pick<Order, "statusReason" | "endCause" | "paymentId">): Outcome {
  const why = order.statusReason || "The order was cancelled";
  switch (cancelledPayment(order)) {
    case "declined":
      return {
        tone: "failure",
        title: "Cancelled: the payment was declined",
        detail: `The payment provider said "${order.statusReason}". Nothing was charged and the stock was released. Try again with another card.`,
      };
    case "refunded":
      return {
        tone: "failure",
        title: "Cancelled",
        detail: `${why}. Reserved stock was released and the payment refunded.`,
      };
    case "refunded-if-taken":
      return {
        tone: "failure",
        title: "Cancelled",
        detail: `${why}. Reserved stock was released; a payment already taken is refunded in full.`,
      };
  }
}

/** "Not enough stock of Desk Lamp, Mug." from a reason such as "out of stock: SKU-1, SKU-2". */
function shortageSentence(order: Pick<Order, "statusReason" | "lines">): string {
  const match = /^out of stock: (.+)$/.exec(order.statusReason);
  if (!match?.[1]) return order.statusReason ? `${order.statusReason}.` : "Some items were out of stock.";
  const names = match[1].split(", ").map((sku) => order.lines.find((line) => line.sku === sku)?.name ?? sku);
  return `Not enough stock of ${names.join(", ")}.`;
}
