import { describe, expect, it } from "vitest";
import { forNoOrder, isFinal, type OrderEvent, type OrderStatus, totalOf, transition } from "./order.js";

const statuses: OrderStatus[] = ["pending", "reserved", "confirmed", "rejected", "cancelled"];
const total = { amountMinor: 2_500n, currency: "USD" };
/** An order of `total` in `status`. */
const at = (status: OrderStatus) => ({ status, totalMinor: total.amountMinor, currency: total.currency });
const events: OrderEvent[] = [
  { kind: "stock-reserved" },
  { kind: "stock-rejected", reason: "out of stock: SKU-1" },
  { kind: "payment-captured", paymentId: "p1", amount: total },
  { kind: "payment-declined", reason: "card declined" },
  { kind: "cancelled-by-customer", reason: "" },
  { kind: "stock-released" },
  { kind: "payment-refunded", paymentId: "pay_1", reason: "" },
];

describe("order state machine", () => {
  it("follows the happy path pending → reserved → confirmed, announcing the confirmation", () => {
    const reserved = transition(at("pending"), { kind: "stock-reserved" });
    expect(reserved).toEqual({ status: "reserved", reason: "" });
    expect(transition(at("reserved"), { kind: "payment-captured", paymentId: "p1", amount: total })).toEqual({
      status: "confirmed",
      reason: "",
      paymentId: "p1",
      announce: "confirmed",
    });
  });

  it("rejects a pending order when stock is short, and cancels on a declined payment", () => {
    expect(transition(at("pending"), events[1] as OrderEvent)).toMatchObject({
      status: "rejected",
      cause: "out-of-stock",
      announce: "rejected",
    });
    expect(transition(at("reserved"), events[3] as OrderEvent)).toMatchObject({
      status: "cancelled",
      reason: "card declined",
      cause: "payment-declined",
      announce: "cancelled",
    });
  });

  it("confirms when the capture overtakes the reservation, and then ignores the late reservation", () => {
    expect(transition(at("pending"), { kind: "payment-captured", paymentId: "p1", amount: total })?.status).toBe(
      "confirmed",
    );
    expect(transition(at("confirmed"), { kind: "stock-reserved" })).toBeUndefined();
  });

  it("lets a customer cancel until the order is rejected or already cancelled", () => {
    const cancel: OrderEvent = { kind: "cancelled-by-customer", reason: "" };
    expect(transition(at("pending"), cancel)).toMatchObject({ reason: "cancelled by the customer", cause: "customer" });
    // The customer's words, after an opening no other reason has: never taken for a decline.
    expect(transition(at("pending"), { kind: "cancelled-by-customer", reason: "card declined" })?.reason).toBe(
      "cancelled by the customer: card declined",
    );
    expect(transition(at("confirmed"), cancel)?.status).toBe("cancelled");
    expect(transition(at("rejected"), cancel)).toBeUndefined();
    expect(transition(at("cancelled"), cancel)).toBeUndefined();
  });

  it("ignores every event once an order is rejected (but a capture) or cancelled, and repeats of any event", () => {
    for (const event of events) {
      if (event.kind !== "payment-captured") expect(transition(at("rejected"), event)).toBeUndefined();
      expect(transition(at("cancelled"), event)).toBeUndefined();
      const once = transition(at("pending"), event);
      if (once && event.kind !== "cancelled-by-customer") expect(transition(at(once.status), event)).toBeUndefined();
    }
  });

  it("never leaves a final status except to cancel a confirmed order, or a rejected one that was paid", () => {
    for (const status of statuses.filter(isFinal)) {
      for (const event of events) {
        const next = transition(at(status), event);
        if (!next) continue;
        expect([next.status, next.announce]).toEqual(["cancelled", "cancelled"]);
        expect(status === "confirmed" || (status === "rejected" && event.kind === "payment-captured")).toBe(true);
      }
    }
  });

  it("cancels a live order whose stock an operator released or whose payment was refunded", () => {
    for (const status of ["pending", "reserved", "confirmed"] as const) {
      expect(transition(at(status), { kind: "stock-released" })).toEqual({
        status: "cancelled",
        reason: "its stock was released",
        cause: "stock-released",
        announce: "cancelled",
      });
      // The payment is recorded: before its capture reached the order, the order had none.
      expect(transition(at(status), { kind: "payment-refunded", paymentId: "pay_1", reason: "" })).toEqual({
        status: "cancelled",
        reason: "its payment was refunded",
        cause: "payment-refunded",
        paymentId: "pay_1",
        announce: "cancelled",
      });
      expect(
        transition(at(status), { kind: "payment-refunded", paymentId: "pay_1", reason: "chargeback 42" }),
      ).toMatchObject({ reason: "its payment was refunded: chargeback 42" });
    }
  });

  it("cancels a confirmed order when inventory rejects it after all (captured by a Charge RPC first)", () => {
    expect(transition(at("confirmed"), events[1] as OrderEvent)).toEqual({
      status: "cancelled",
      reason: "out of stock: SKU-1",
      cause: "capture-refunded",
      announce: "cancelled",
    });
    expect(transition(at("reserved"), events[1] as OrderEvent)).toBeUndefined();
  });

  it("gives back a capture and a stock rejection's money in either order of arrival (different streams)", () => {
    const captured: OrderEvent = { kind: "payment-captured", paymentId: "p1", amount: total };
    const rejected = events[1] as OrderEvent;
    const settle = (arrivals: OrderEvent[]) => {
      let status: OrderStatus = "pending";
      const announced: string[] = [];
      for (const event of arrivals) {
        const next = transition(at(status), event);
        if (!next) continue;
        status = next.status;
        if (next.announce) announced.push(next.announce);
      }
      return { status, announced };
    };
    // OrderCancelled is what makes payment refund the capture.
    expect(settle([captured, rejected])).toEqual({ status: "cancelled", announced: ["confirmed", "cancelled"] });
    expect(settle([rejected, captured])).toEqual({ status: "cancelled", announced: ["rejected", "cancelled"] });
    expect(transition(at("rejected"), captured)).toMatchObject({ paymentId: "p1", cause: "capture-refunded" });
  });

  it("cancels, so that payment refunds it, an order paid another sum than its total (an operator's Charge)", () => {
    const paid = (amountMinor: bigint, currency: string): OrderEvent => ({
      kind: "payment-captured",
      paymentId: "p1",
      amount: { amountMinor, currency },
    });
    for (const status of ["pending", "reserved"] as const) {
      expect(transition(at(status), paid(900n, "USD"))).toEqual({
        status: "cancelled",
        reason: "captured 900 USD for a total of 2500 USD (minor units): the payment is refunded",
        cause: "capture-refunded",
        paymentId: "p1",
        announce: "cancelled",
      });
      expect(transition(at(status), paid(2_500n, "EUR"))?.status).toBe("cancelled");
      expect(transition(at(status), paid(2_500n, "USD"))?.status).toBe("confirmed");
    }
  });

  it("totals lines in minor units without rounding", () => {
    expect(
      totalOf([
        { sku: "A-1", name: "a", quantity: 3, unitPriceMinor: 1999n },
        { sku: "B-1", name: "b", quantity: 1, unitPriceMinor: 1n },
      ]),
    ).toBe(5998n);
  });
});

describe("an event for an order that does not exist (an operator's RPC for a wrong id)", () => {
  it("cancels a capture, so that it is refunded, and lets everything else end there", () => {
    const captured: OrderEvent = {
      kind: "payment-captured",
      paymentId: "p",
      amount: { amountMinor: 1_250n, currency: "USD" },
    };
    expect(forNoOrder(captured)).toEqual({ reason: expect.stringMatching(/refunded/), announce: "cancelled" });
    const others: OrderEvent[] = [
      { kind: "stock-reserved" },
      { kind: "stock-rejected", reason: "out of stock" },
      { kind: "stock-released" },
      { kind: "payment-declined", reason: "declined" },
      { kind: "payment-refunded", paymentId: "pay_1", reason: "" },
    ];
    expect(others.map(forNoOrder)).toEqual(others.map(() => undefined));
  });
});
