import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { OrderCancelledSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { PaymentCapturedSchema, PaymentRefundedSchema } from "@shopmesh/gen/shopmesh/payment/v1/payment_events_pb.js";
import { PaymentStatus } from "@shopmesh/gen/shopmesh/payment/v1/payment_pb.js";
import { waitFor } from "@shopmesh/testing";
import { describe, expect, test } from "vitest";
import { usePaymentService } from "./harness.js";

const payment = usePaymentService("payment rpc");

const usd = (amountMinor: bigint) => ({ amountMinor, currencyCode: "USD" });

async function codeOf(call: Promise<unknown>): Promise<Code | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

describe("PaymentService.Charge", () => {
  test("with a service token it captures, and a repeat answers the same payment without charging", async () => {
    const client = await payment.client("service");
    const orderId = randomUUID();
    const request = { orderId, amount: usd(2500n), paymentToken: "tok_visa" };
    const first = await client.charge(request);
    expect(first.payment).toMatchObject({
      orderId,
      status: PaymentStatus.CAPTURED,
      amount: { amountMinor: 2500n, currencyCode: "USD" },
      attempts: 1,
      declineReason: "",
    });
    expect(first.payment?.providerReference).toMatch(/^sim_ch_/);
    const again = await client.charge(request);
    expect(again.payment).toEqual(first.payment);
    expect(payment.simulator.chargeOf(orderId)?.calls).toBe(1);
    await waitFor(async () => (await payment.events(PaymentCapturedSchema, orderId)).length === 1, {
      description: "PaymentCaptured of the RPC charge",
    });
    expect((await client.getPayment({ orderId })).payment).toEqual(first.payment);
  });

  test("takes an order id in upper case as the same order, alone or with other charges in flight", async () => {
    const client = await payment.client("service");
    const orderIds = Array.from({ length: 6 }, () => randomUUID());
    const charged = await Promise.all(
      orderIds.map((orderId, index) =>
        client.charge({
          orderId: index === 2 ? orderId.toUpperCase() : orderId,
          amount: usd(100n),
          paymentToken: "tok_visa",
        }),
      ),
    );
    expect(charged.map(({ payment }) => [payment?.orderId, payment?.status])).toEqual(
      orderIds.map((orderId) => [orderId, PaymentStatus.CAPTURED]),
    );
    const upper = orderIds[2]?.toUpperCase() ?? "";
    const again = await client.charge({ orderId: upper, amount: usd(100n), paymentToken: "tok_visa" });
    expect(again.payment).toEqual(charged[2]?.payment);
    expect((await client.getPayment({ orderId: upper })).payment).toEqual(charged[2]?.payment);
    expect(payment.simulator.chargeOf(orderIds[2] ?? "")?.calls).toBe(1);
  });

  test("a declined charge answers DECLINED with the reason", async () => {
    const client = await payment.client("service");
    const { payment: declined } = await client.charge({
      orderId: randomUUID(),
      amount: usd(100n),
      paymentToken: "tok_declined",
    });
    expect(declined).toMatchObject({ status: PaymentStatus.DECLINED, declineReason: "card declined" });
  });

  test("a repeat with a different amount is ALREADY_EXISTS", async () => {
    const client = await payment.client("service");
    const orderId = randomUUID();
    await client.charge({ orderId, amount: usd(1000n), paymentToken: "tok_visa" });
    expect(await codeOf(client.charge({ orderId, amount: usd(1001n), paymentToken: "tok_visa" }))).toBe(
      Code.AlreadyExists,
    );
  });

  test("a charge of another amount while the first is at the provider is ALREADY_EXISTS; the first is recorded", async () => {
    const client = await payment.client("service");
    const orderId = randomUUID();
    const held = payment.hold(orderId);
    const first = client.charge({ orderId, amount: usd(1000n), paymentToken: "tok_visa" });
    await held.reached;
    const second = await codeOf(client.charge({ orderId, amount: usd(5000n), paymentToken: "tok_visa" }));
    held.release();
    expect(second).toBe(Code.AlreadyExists);
    expect((await first).payment?.amount?.amountMinor).toBe(1000n);
    expect((await client.getPayment({ orderId })).payment?.amount?.amountMinor).toBe(1000n);
    expect((await client.refund({ orderId })).payment?.status).toBe(PaymentStatus.REFUNDED);
  });

  test("a transient provider failure is UNAVAILABLE, and a retry with the same order captures once", async () => {
    const client = await payment.client("service");
    const orderId = randomUUID();
    const request = { orderId, amount: usd(700n), paymentToken: "tok_transient_5" };
    expect(await codeOf(client.charge(request))).toBe(Code.Unavailable);
    // The caller retries (and the client itself retries UNAVAILABLE a few times per call).
    let response: Awaited<ReturnType<typeof client.charge>> | undefined;
    for (let call = 0; response === undefined && call < 5; call++) {
      response = await client.charge(request).catch((error: unknown) => {
        if (ConnectError.from(error).code !== Code.Unavailable) throw error;
        return undefined;
      });
    }
    expect(response?.payment).toMatchObject({ status: PaymentStatus.CAPTURED, attempts: 6 });
    expect(payment.simulator.chargeOf(orderId)).toMatchObject({ calls: 6, transientFailures: 5 });
  });

  test("an order cancelled before any charge is FAILED_PRECONDITION and is not charged", async () => {
    const client = await payment.client("service");
    const orderId = randomUUID();
    await payment.publish(OrderCancelledSchema, { orderId, reason: "customer", byCustomer: true });
    await waitFor(async () => (await payment.row(orderId))?.status === "voided", { description: "tombstone" });
    expect(await codeOf(client.charge({ orderId, amount: usd(500n), paymentToken: "tok_visa" }))).toBe(
      Code.FailedPrecondition,
    );
    expect(payment.simulator.chargeOf(orderId)).toBeUndefined();
    expect(await codeOf(client.getPayment({ orderId }))).toBe(Code.NotFound);
  });

  test("invalid requests are INVALID_ARGUMENT", async () => {
    const client = await payment.client("service");
    const orderId = randomUUID();
    expect(await codeOf(client.charge({ orderId: "nope", amount: usd(5n), paymentToken: "tok_visa" }))).toBe(
      Code.InvalidArgument,
    );
    const zero = await client.charge({ orderId, amount: usd(0n), paymentToken: "tok_visa" }).then(
      () => undefined,
      (error: unknown) => ConnectError.from(error),
    );
    // A field violation names what to fix, as for any other rule of the contract.
    expect(`${zero?.code} ${zero?.rawMessage}`).toMatch(`${Code.InvalidArgument} amount: must be greater than zero`);
    expect(await codeOf(client.charge({ orderId, paymentToken: "tok_visa" }))).toBe(Code.InvalidArgument);
    expect(await codeOf(client.refund({ orderId, reason: "fraud\u0000" }))).toBe(Code.InvalidArgument);
    expect(await payment.row(orderId)).toBeUndefined();
  });

  test("a customer token is PERMISSION_DENIED and no token is UNAUTHENTICATED", async () => {
    const orderId = randomUUID();
    const request = { orderId, amount: usd(500n), paymentToken: "tok_visa" };
    expect(await codeOf((await payment.client("customer")).charge(request))).toBe(Code.PermissionDenied);
    expect(await codeOf((await payment.client("nobody")).charge(request))).toBe(Code.Unauthenticated);
    expect(await codeOf((await payment.client("customer")).getPayment({ orderId }))).toBe(Code.PermissionDenied);
    expect(payment.simulator.chargeOf(orderId)).toBeUndefined();
  });
});

describe("PaymentService.Refund and GetPayment", () => {
  test("Refund gives a captured payment back once, and a repeat answers it again", async () => {
    const client = await payment.client("service");
    const orderId = randomUUID();
    await client.charge({ orderId, amount: usd(900n), paymentToken: "tok_visa" });
    const first = await client.refund({ orderId, reason: "goodwill" });
    expect(first.payment).toMatchObject({ status: PaymentStatus.REFUNDED, amount: usd(900n) });
    const again = await client.refund({ orderId });
    expect(again.payment?.status).toBe(PaymentStatus.REFUNDED);
    expect(payment.simulator.refundOf(`refund:${orderId}`)?.calls).toBe(1);
    await waitFor(async () => (await payment.events(PaymentRefundedSchema, orderId)).length === 1, {
      description: "PaymentRefunded of the RPC refund",
    });
  });

  test("Refund without a captured payment is FAILED_PRECONDITION", async () => {
    const client = await payment.client("service");
    expect(await codeOf(client.refund({ orderId: randomUUID() }))).toBe(Code.FailedPrecondition);
    const declined = randomUUID();
    await client.charge({ orderId: declined, amount: usd(900n), paymentToken: "tok_declined" });
    expect(await codeOf(client.refund({ orderId: declined }))).toBe(Code.FailedPrecondition);
  });

  test("GetPayment of an order without a payment is NOT_FOUND", async () => {
    const client = await payment.client("service");
    expect(await codeOf(client.getPayment({ orderId: randomUUID() }))).toBe(Code.NotFound);
  });
});
