import { create } from "@bufbuild/protobuf";
import { OrderEndCause, OrderSchema, OrderStatus } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import { describe, expect, it } from "vitest";
import { canCancel, cancelConsequence, orderOutcome, orderSteps } from "./order-progress.js";

const order = (
  status: OrderStatus,
  history: OrderStatus[],
  extra: { statusReason?: string; endCause?: OrderEndCause; paymentId?: string } = {},
) => create(OrderSchema, { status, history: history.map((s) => ({ status: s })), ...extra });
const states = (o: ReturnType<typeof order>) => orderSteps(o).map((step) => step.state);

describe("order progress", () => {
  it("shows the step in progress and those still to come", () => {
    expect(states(order(OrderStatus.PENDING, [OrderStatus.PENDING]))).toEqual(["done", "active", "waiting", "waiting"]);
    expect(states(order(OrderStatus.RESERVED, [OrderStatus.PENDING, OrderStatus.RESERVED]))).toEqual([
      "done",
      "done",
      "active",
      "waiting",
    ]);
  });

  it("shows every step done once confirmed", () => {
    const confirmed = order(OrderStatus.CONFIRMED, [OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.CONFIRMED], {
      paymentId: "p-1",
    });
    expect(states(confirmed)).toEqual(["done", "done", "done", "done"]);
    expect(orderOutcome(confirmed).tone).toBe("success");
    expect(canCancel(confirmed.status)).toBe(true);
  });

  it("shows a rejection at the stock step, with the reason, and nothing to cancel", () => {
    const rejected = create(OrderSchema, {
      status: OrderStatus.REJECTED,
      history: [{ status: OrderStatus.PENDING }, { status: OrderStatus.REJECTED }],
      statusReason: "out of stock: SKU-1",
      lines: [{ sku: "SKU-1", name: "Desk Lamp", quantity: 3 }],
    });
    const steps = orderSteps(rejected);
    expect(steps.map((step) => step.state)).toEqual(["done", "failed", "skipped", "skipped"]);
    expect(steps[1]?.note).toBe("out of stock: SKU-1");
    expect(orderOutcome(rejected).title).toBe("Rejected: not enough stock");
    expect(orderOutcome(rejected).detail).toMatch(/^Not enough stock of Desk Lamp\. Nothing was charged\./);
    expect(canCancel(rejected.status)).toBe(false);
  });

  it("tells a declined payment apart from a customer's cancellation", () => {
    const declined = order(OrderStatus.CANCELLED, [OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.CANCELLED], {
      statusReason: "card declined",
      endCause: OrderEndCause.PAYMENT_DECLINED,
    });
    expect(states(declined)).toEqual(["done", "done", "failed", "skipped"]);
    expect(orderOutcome(declined).title).toBe("Cancelled: the payment was declined");

    const refunded = order(
      OrderStatus.CANCELLED,
      [OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.CONFIRMED, OrderStatus.CANCELLED],
      { statusReason: "cancelled by the customer", endCause: OrderEndCause.CUSTOMER, paymentId: "p-1" },
    );
    expect(states(refunded)).toEqual(["done", "done", "done", "failed"]);
    expect(orderOutcome(refunded).detail).toContain("refunded");
  });

  it("says an operator's refund of an order not yet confirmed gave money back, never that nothing was charged", () => {
    // The capture's PaymentCaptured had not reached the order when the Refund's PaymentRefunded
    // cancelled it, recording the refunded payment's id; the reason has "payment" in it.
    for (const history of [
      [OrderStatus.PENDING, OrderStatus.CANCELLED],
      [OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.CANCELLED],
    ]) {
      const refunded = order(OrderStatus.CANCELLED, history, {
        statusReason: "its payment was refunded: ticket 42",
        endCause: OrderEndCause.PAYMENT_REFUNDED,
        paymentId: "p-1",
      });
      const outcome = orderOutcome(refunded);
      expect(outcome.title).toBe("Cancelled");
      expect(outcome.detail).toBe(
        "its payment was refunded: ticket 42. Reserved stock was released and the payment refunded.",
      );
      const steps = orderSteps(refunded);
      expect(steps.map((step) => step.state)).toEqual(["done", "done", "done", "failed"]);
      expect(steps[3]).toMatchObject({ label: "Not confirmed", note: "its payment was refunded: ticket 42" });
    }
  });

  it("says a payment possibly taken is refunded when an order is cancelled before it was paid", () => {
    // A capture in flight when the customer or an operator cancels is refunded by the
    // payment service; the order never records it.
    for (const [statusReason, endCause] of [
      ["cancelled by the customer", OrderEndCause.CUSTOMER],
      ["its stock was released", OrderEndCause.STOCK_RELEASED],
      ["changed my payment method", OrderEndCause.UNSPECIFIED], // ended before causes were recorded
    ] as const) {
      const cancelled = order(
        OrderStatus.CANCELLED,
        [OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.CANCELLED],
        { statusReason, endCause },
      );
      const outcome = orderOutcome(cancelled);
      expect(outcome.title, statusReason).toBe("Cancelled");
      expect(outcome.detail, statusReason).toBe(
        `${statusReason}. Reserved stock was released; a payment already taken is refunded in full.`,
      );
      expect(outcome.detail).not.toContain("Nothing was charged");
    }
  });

  it("takes a customer's own cancellation reason for no decline, whatever words it uses", () => {
    // CancelOrder records the reason the caller gives after a fixed opening; a capture in
    // flight meanwhile is refunded without reaching the order (no payment id), so the
    // money was taken.
    for (const words of ["my bank declined to confirm the address", "insufficient time to deliver"]) {
      const statusReason = `cancelled by the customer: ${words}`; // as the order service records it
      const cancelled = order(
        OrderStatus.CANCELLED,
        [OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.CANCELLED],
        { statusReason, endCause: OrderEndCause.CUSTOMER },
      );
      expect(orderOutcome(cancelled).detail, statusReason).not.toContain("Nothing was charged");
    }
  });

  it("says a capture of the wrong sum was refunded, and that the order was never confirmed", () => {
    const statusReason = "captured 999 USD for a total of 1250 USD (minor units): the payment is refunded";
    const cancelled = order(OrderStatus.CANCELLED, [OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.CANCELLED], {
      statusReason,
      endCause: OrderEndCause.CAPTURE_REFUNDED,
      paymentId: "p-1",
    });
    expect(orderOutcome(cancelled).detail).toBe(
      `${statusReason}. Reserved stock was released and the payment refunded.`,
    );
    expect(orderSteps(cancelled)[3]).toMatchObject({ state: "failed", label: "Not confirmed" });
  });

  it("says nothing was charged only for a declined payment, known by the order's end cause", () => {
    const history = [OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.CANCELLED];
    for (const statusReason of ["card declined", "insufficient funds", "payment declined"]) {
      const declined = order(OrderStatus.CANCELLED, history, {
        statusReason,
        endCause: OrderEndCause.PAYMENT_DECLINED,
      });
      expect(orderOutcome(declined).detail).toContain("Nothing was charged");
      // The same words without the cause (an order ended before causes were recorded) prove nothing.
      expect(orderOutcome(order(OrderStatus.CANCELLED, history, { statusReason })).detail).not.toContain(
        "Nothing was charged",
      );
    }
    for (const endCause of [
      OrderEndCause.CUSTOMER,
      OrderEndCause.STOCK_RELEASED,
      OrderEndCause.PAYMENT_REFUNDED,
      OrderEndCause.CAPTURE_REFUNDED,
    ]) {
      const cancelled = order(OrderStatus.CANCELLED, history, { statusReason: "payment declined", endCause });
      expect(orderOutcome(cancelled).detail, OrderEndCause[endCause]).not.toContain("Nothing was charged");
    }
  });

  it("says beside Cancel that a payment already taken is refunded", () => {
    expect(cancelConsequence(OrderStatus.CONFIRMED)).toBe("You will be refunded in full.");
    for (const status of [OrderStatus.PENDING, OrderStatus.RESERVED]) {
      expect(cancelConsequence(status)).toBe(
        "Reserved stock is released; a payment already taken is refunded in full.",
      );
    }
  });
});
