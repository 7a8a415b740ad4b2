import { create } from "@bufbuild/protobuf";
import { OrderSchema, OrderStatus } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import { describe, expect, it } from "vitest";
import { canCancel, orderOutcome, orderSteps } from "./order-progress.js";

const order = (
  status: OrderStatus,
  history: OrderStatus[],
  extra: { statusReason?: string; paymentId?: string } = {},
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
    });
    expect(states(declined)).toEqual(["done", "done", "failed", "skipped"]);
    expect(orderOutcome(declined).title).toBe("Cancelled: the payment was declined");

    const refunded = order(
      OrderStatus.CANCELLED,
      [OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.CONFIRMED, OrderStatus.CANCELLED],
      { statusReason: "cancelled by the customer", paymentId: "p-1" },
    );
    expect(states(refunded)).toEqual(["done", "done", "done", "failed"]);
    expect(orderOutcome(refunded).detail).toContain("refunded");
  });
});
