import { describe, expect, test } from "vitest";
import {
  assertChargeable,
  type ChargeRequest,
  decideCancel,
  decideCharge,
  decideRefund,
  type Payment,
  PaymentError,
  visiblePayment,
} from "./payment.js";

const orderId = "0b6f8a52-6a43-4c52-9d8e-5f1f0f6a9d11";
const request: ChargeRequest = { orderId, amount: { amountMinor: 1999n, currency: "USD" }, token: "tok_visa" };
const record = { paymentId: "p-1", orderId, attempts: 1, createdAt: new Date(0), updatedAt: new Date(0) };
const captured: Payment = { ...record, status: "captured", amount: request.amount, providerReference: "ch_1" };
const declined: Payment = { ...record, status: "declined", amount: request.amount, declineReason: "card declined" };
const refunded: Payment = {
  ...record,
  status: "refunded",
  amount: request.amount,
  providerReference: "ch_1",
  refundReference: "re_1",
  refundReason: "order cancelled",
};
const voided: Payment = { ...record, attempts: 0, status: "voided" };

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof PaymentError) return error.code;
    throw error;
  }
  return undefined;
}

describe("charging", () => {
  test("an order without a payment is charged", () => {
    expect(decideCharge(request, { attemptsMade: 1 })).toEqual({ kind: "charge" });
  });

  test.each([captured, declined, refunded])("a $status payment is answered again, never charged twice", (payment) => {
    expect(decideCharge(request, { payment, attemptsMade: 0 })).toEqual({ kind: "settled", payment });
  });

  test("a repeat with a different amount or currency is AMOUNT_MISMATCH", () => {
    const other = { ...request, amount: { amountMinor: 2000n, currency: "USD" } };
    expect(codeOf(() => decideCharge(other, { payment: captured, attemptsMade: 0 }))).toBe("PAYMENT.AMOUNT_MISMATCH");
    const euros = { ...request, amount: { amountMinor: 1999n, currency: "EUR" } };
    expect(codeOf(() => decideCharge(euros, { payment: declined, attemptsMade: 0 }))).toBe("PAYMENT.AMOUNT_MISMATCH");
  });

  test("a voided order is never charged when no attempt was made", () => {
    expect(codeOf(() => decideCharge(request, { payment: voided, attemptsMade: 0 }))).toBe("PAYMENT.ORDER_CANCELLED");
  });

  test("a voided order with an attempt on record is compensated (replay and refund)", () => {
    expect(decideCharge(request, { payment: voided, attemptsMade: 2 })).toEqual({ kind: "compensate" });
  });

  test.each([
    ["a non-UUID order id", { ...request, orderId: "order-1" }],
    ["a zero amount", { ...request, amount: { amountMinor: 0n, currency: "USD" } }],
    ["a negative amount", { ...request, amount: { amountMinor: -5n, currency: "USD" } }],
    ["no currency", { ...request, amount: { amountMinor: 5n, currency: "" } }],
  ])("%s is INVALID_CHARGE", (_name, bad) => {
    expect(codeOf(() => assertChargeable(bad))).toBe("PAYMENT.INVALID_CHARGE");
  });

  test("a valid request passes", () => {
    expect(codeOf(() => assertChargeable(request))).toBeUndefined();
  });
});

describe("refunding and cancelling", () => {
  test("only a captured payment is refunded; a refunded one is answered again", () => {
    expect(decideRefund(orderId, captured)).toEqual({ kind: "refund", payment: captured });
    expect(decideRefund(orderId, refunded)).toEqual({ kind: "settled", payment: refunded });
    for (const payment of [undefined, declined, voided]) {
      expect(codeOf(() => decideRefund(orderId, payment))).toBe("PAYMENT.NOT_CAPTURED");
    }
  });

  test("a cancellation voids an uncharged order, refunds a captured one, settles a voided one and leaves the rest", () => {
    expect(decideCancel(undefined)).toEqual({ kind: "void" });
    expect(decideCancel(captured)).toEqual({ kind: "refund", payment: captured });
    expect(decideCancel(voided)).toEqual({ kind: "settle" });
    for (const payment of [declined, refunded]) expect(decideCancel(payment)).toEqual({ kind: "none" });
  });

  test("a tombstone is not a visible payment", () => {
    expect(visiblePayment(orderId, captured)).toBe(captured);
    expect(codeOf(() => visiblePayment(orderId, voided))).toBe("PAYMENT.NOT_FOUND");
    expect(codeOf(() => visiblePayment(orderId, undefined))).toBe("PAYMENT.NOT_FOUND");
  });
});
