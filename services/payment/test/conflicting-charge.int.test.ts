import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { StockReservedSchema } from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import { OrderCancelledSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import {
  PaymentCapturedSchema,
  PaymentDeclinedSchema,
  PaymentRefundedSchema,
} from "@shopmesh/gen/shopmesh/payment/v1/payment_events_pb.js";
import { waitFor } from "@shopmesh/testing";
import { describe, expect, test } from "vitest";
import { usePaymentService } from "./harness.js";

// An operator's Charge for another amount than the order's total reaches the provider
// first, and its answer is lost: a `_slow` token answers in 200 ms, past this deadline
// (the client's retries of UNAVAILABLE are as slow). No payment records it.
const payment = usePaymentService("conflicting charge", { PAYMENT_PROVIDER_TIMEOUT_MS: "100" });

const codeOf = (call: Promise<unknown>) =>
  call.then(
    () => "ok" as const,
    (error: unknown) => Code[ConnectError.from(error).code],
  );

const fiveDollars = { amountMinor: 500n, currencyCode: "USD" };

/** The events of a type about an order, once there is one. */
const announced = <T>(read: () => Promise<T[]>, description: string) =>
  waitFor(
    async () => {
      const events = await read();
      return events.length > 0 ? events : undefined;
    },
    { description },
  );

describe("a StockReserved after an operator's Charge of another amount whose answer was lost", () => {
  test("records and announces what that charge captured, and refunds it when the order is cancelled", async () => {
    const orderId = randomUUID();
    const operator = await payment.client("service");
    expect(await codeOf(operator.charge({ orderId, amount: fiveDollars, paymentToken: "tok_visa_slow" }))).toBe(
      "Unavailable",
    );
    expect(payment.simulator.chargeOf(orderId)?.outcome?.outcome).toBe("captured");
    expect(await payment.row(orderId)).toBeUndefined();

    // The order's own charge, for its total, meets the key already used for 5.00.
    await payment.publish(StockReservedSchema, payment.stockReserved("tok_visa", orderId, 1999n));
    const captured = await announced(() => payment.events(PaymentCapturedSchema, orderId), "the capture announced");
    expect(captured.map((event) => event.amount?.amountMinor)).toEqual([500n]);
    expect(await payment.row(orderId)).toMatchObject({ status: "captured", amount_minor: "500" });

    // The order service cancels an order captured for another sum than its total.
    await payment.publish(OrderCancelledSchema, { orderId, reason: "captured 5.00 of 19.99", byCustomer: false });
    await announced(() => payment.events(PaymentRefundedSchema, orderId), "the 5.00 refunded");
    expect(payment.simulator.refundOf(`refund:${orderId}`)?.amount).toBe(500n);
    expect(await payment.deadLetters()).toEqual([]);
  });

  test("closes the key and announces a decline when that charge has no outcome yet", async () => {
    const orderId = randomUUID();
    const operator = await payment.client("service");
    // Fails transiently on its first 9 calls: nothing is captured yet.
    expect(await codeOf(operator.charge({ orderId, amount: fiveDollars, paymentToken: "tok_transient_9" }))).toBe(
      "Unavailable",
    );

    await payment.publish(StockReservedSchema, payment.stockReserved("tok_visa", orderId, 1999n));
    expect(await announced(() => payment.events(PaymentDeclinedSchema, orderId), "the decline announced")).toHaveLength(
      1,
    );
    expect(await payment.row(orderId)).toMatchObject({ status: "declined" });
    // The key is closed: that charge, still on its way, can no longer capture.
    const late = { idempotencyKey: orderId, amount: 500n, currency: "USD", token: "tok_visa" };
    expect(await payment.simulator.charge(late)).toMatchObject({ outcome: "declined", reason: "charge cancelled" });
    expect(await payment.deadLetters()).toEqual([]);
  });
});
