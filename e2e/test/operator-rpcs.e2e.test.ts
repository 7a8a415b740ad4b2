import { randomUUID } from "node:crypto";
import { OrderEndCause, OrderStatus } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import { PaymentStatus } from "@shopmesh/gen/shopmesh/payment/v1/payment_pb.js";
import { waitFor } from "@shopmesh/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { products, stockLevel, stockOf, waitForStatus } from "../src/fixtures.js";
import { checkSettledInvariants } from "../src/invariants.js";
import { type Mesh, startMesh } from "../src/mesh.js";

// An operator's internal RPCs (ReleaseStock, Refund) used on an order whose saga is
// still running, or done: the order follows them, and the mesh's invariants hold. And
// used on an id that is no order (a hold of stock that is nobody's order, a mistyped
// id): nothing is dead-lettered, and money captured for it is given back.
let mesh: Mesh;
let customer: string;
const catalog = products(3, 100n);
const [releasedSku, refundedSku, heldSku] = catalog.map((product) => product.sku) as [string, string, string];

beforeAll(async () => {
  mesh = await startMesh("operator");
  await mesh.seed(catalog);
  customer = await mesh.customerToken(`customer-${randomUUID()}`);
});

afterAll(async () => {
  await mesh?.close();
});

const place = (sku: string, paymentToken: string) =>
  mesh.orders(customer).placeOrder({ idempotencyKey: randomUUID(), items: [{ sku, quantity: 3 }], paymentToken });

const reservationStatus = async (orderId: string) =>
  (
    await mesh.pools.inventory.query<{ status: string }>("SELECT status FROM reservations WHERE order_id = $1", [
      orderId,
    ])
  ).rows[0]?.status;

describe("an operator's RPCs on a live order", () => {
  it("ReleaseStock while the payment is still being retried: the order ends CANCELLED, nothing kept", async () => {
    // Three transient failures, each answered 200 ms late: the payment takes about a second.
    const { order } = await place(releasedSku, "tok_transient_3_slow");
    const orderId = order?.orderId ?? "";
    await waitFor(async () => (await reservationStatus(orderId)) === "reserved", { description: "the reservation" });
    const operator = await mesh.serviceToken();
    await mesh.stock(operator).releaseStock({ orderId });

    const final = await waitForStatus(mesh, customer, orderId);
    expect(final.status).toBe(OrderStatus.CANCELLED);
    expect(final.statusReason).toBe("its stock was released");
    expect(final.endCause).toBe(OrderEndCause.STOCK_RELEASED);
    const payment = await waitFor(
      async () => {
        const found = (
          await mesh
            .payments(operator)
            .getPayment({ orderId })
            .catch(() => undefined)
        )?.payment;
        return found && found.status !== PaymentStatus.CAPTURED ? found : undefined;
      },
      { description: "the payment refunded, or never captured" },
    ).catch(() => undefined);
    expect(payment?.status ?? PaymentStatus.UNSPECIFIED).not.toBe(PaymentStatus.CAPTURED);
    expect(await stockLevel(mesh, releasedSku)).toEqual({ available: 100n, reserved: 0n, sold: 0n });
  });

  it("Refund of a confirmed order's payment: the order ends CANCELLED, its reason recorded, its units back on sale", async () => {
    const { order } = await place(refundedSku, "tok_visa");
    const orderId = order?.orderId ?? "";
    await waitForStatus(mesh, customer, orderId, [OrderStatus.CONFIRMED]);
    const operator = await mesh.serviceToken();
    const reason = "chargeback ticket 42";
    const { payment } = await mesh.payments(operator).refund({ orderId, reason });
    expect(payment).toMatchObject({ status: PaymentStatus.REFUNDED, refundReason: reason });
    // Sent again with another reason: the first refund, and its reason, answered.
    expect((await mesh.payments(operator).refund({ orderId, reason: "again" })).payment?.refundReason).toBe(reason);

    const final = await waitForStatus(mesh, customer, orderId, [OrderStatus.CANCELLED]);
    expect(final.statusReason).toBe(`its payment was refunded: ${reason}`);
    expect(final.endCause).toBe(OrderEndCause.PAYMENT_REFUNDED);
    await waitFor(async () => (await stockLevel(mesh, refundedSku)).sold === 0n, {
      description: "the units restocked",
    });
    expect(await stockLevel(mesh, refundedSku)).toEqual({ available: 100n, reserved: 0n, sold: 0n });
  });

  it("ReserveStock and ReleaseStock for an id that is no order: the units come back, the release ends quietly", async () => {
    const operator = await mesh.serviceToken();
    const holdId = randomUUID();
    await mesh.stock(operator).reserveStock({ orderId: holdId, items: [{ sku: heldSku, quantity: 5 }] });
    const { released } = await mesh.stock(operator).releaseStock({ orderId: holdId });
    expect(released.map((item) => item.quantity)).toEqual([5]);
    expect(await stockLevel(mesh, heldSku)).toEqual({ available: 100n, reserved: 0n, sold: 0n });
    // The StockReleased it announces reaches the order service, which knows no such
    // order: the invariants' check below waits for every event applied, and finds no
    // dead letter.
  });

  it("Charge for an id that is no order: the money captured is refunded", async () => {
    const operator = await mesh.serviceToken();
    const orderId = randomUUID();
    const { payment } = await mesh.payments(operator).charge({
      orderId,
      amount: { amountMinor: 1_250n, currencyCode: "USD" },
      paymentToken: "tok_visa",
    });
    expect(payment?.status).toBe(PaymentStatus.CAPTURED);
    await waitFor(() => mesh.provider.refundOf(`refund:${orderId}`), { description: "the capture refunded" });
    const refunded = await waitFor(
      async () => {
        const found = (await mesh.payments(operator).getPayment({ orderId })).payment;
        return found?.status === PaymentStatus.REFUNDED && found;
      },
      { description: "the payment recorded as refunded" },
    );
    expect(refunded.amount?.amountMinor).toBe(1_250n);
  });

  it("leaves the mesh's invariants whole", async () => {
    const report = await checkSettledInvariants(mesh, stockOf(catalog));
    expect(report).toMatchObject({ unfinished: [], moneyProblems: [], stockProblems: [], deadLetters: [] });
    expect(report.capturedMinor).toBe(report.confirmedMinor);
  });
});
