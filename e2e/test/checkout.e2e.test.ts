import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { BadRequestSchema, ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { OrderEndCause, OrderStatus } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import { OrderService } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import { PaymentStatus } from "@shopmesh/gen/shopmesh/payment/v1/payment_pb.js";
import { createCatalogClient } from "@shopmesh/order/catalog-client";
import { type StockClient, stockGrpcClient, waitFor } from "@shopmesh/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { products, stockLevel, stockOf, waitForStatus } from "../src/fixtures.js";
import { checkSettledInvariants } from "../src/invariants.js";
import { type Mesh, startMesh } from "../src/mesh.js";

let mesh: Mesh;
let alice: string;
let bob: string;
const plenty = products(6, 100n);
const scarceProducts = products(1, 2n);
const freeProducts = products(1, 10n, 0n);
const catalog = [...plenty, ...scarceProducts, ...freeProducts];
const [basic, refundable, slow, watched, cancellable, upperCased] = plenty.map((product) => product.sku) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const scarce = scarceProducts[0]?.sku ?? "";
const free = freeProducts[0]?.sku ?? "";

beforeAll(async () => {
  mesh = await startMesh("checkout");
  await mesh.seed(catalog);
  alice = await mesh.customerToken("alice");
  bob = await mesh.customerToken("bob");
});

afterAll(async () => {
  await mesh?.close();
});

const place = (token: string, sku: string, quantity: number, paymentToken = "tok_visa", key = randomUUID()) =>
  mesh.orders(token).placeOrder({ idempotencyKey: key, items: [{ sku, quantity }], paymentToken });

const errorCode = (promise: Promise<unknown>) =>
  promise.then(
    () => "ok",
    (error) => Code[ConnectError.from(error).code],
  );

describe("checkout end to end across order, inventory and payment", () => {
  it("confirms an order placed by a stock grpc-js client, and WatchOrder shows every step", async () => {
    const grpc: StockClient = stockGrpcClient(
      "shopmesh/order/v1/order_service.proto",
      "shopmesh.order.v1.OrderService",
      `127.0.0.1:${mesh.ports.order.grpc}`,
    );
    try {
      const placed = await grpc.unary<{ order: { orderId: string; status: string; total: { amountMinor: string } } }>(
        "placeOrder",
        { idempotencyKey: randomUUID(), items: [{ sku: watched, quantity: 2 }], paymentToken: "tok_visa" },
        { token: alice },
      );
      expect(placed.order.status).toBe("ORDER_STATUS_PENDING");
      expect(placed.order.total.amountMinor).toBe("2500");

      const seen: OrderStatus[] = [];
      for await (const { order } of watch(placed.order.orderId)) seen.push(order?.status ?? OrderStatus.UNSPECIFIED);
      expect(seen).toEqual([OrderStatus.PENDING, OrderStatus.RESERVED, OrderStatus.CONFIRMED].slice(-seen.length));
      expect(seen.at(-1)).toBe(OrderStatus.CONFIRMED);

      const order = await waitForStatus(mesh, alice, placed.order.orderId);
      expect(order.history.map((change) => change.status)).toEqual([
        OrderStatus.PENDING,
        OrderStatus.RESERVED,
        OrderStatus.CONFIRMED,
      ]);
      expect(order.paymentId).not.toBe("");
      await waitFor(async () => (await stockLevel(mesh, watched)).sold === 2n, { description: "reservation sold" });
      expect(await stockLevel(mesh, watched)).toEqual({ available: 98n, reserved: 0n, sold: 2n });
    } finally {
      grpc.close();
    }
  });

  it("confirms an order placed with the Connect protocol as plain JSON over HTTP/1.1", async () => {
    const response = await fetch(
      `http://127.0.0.1:${mesh.ports.order.http}/shopmesh.order.v1.OrderService/PlaceOrder`,
      {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${alice}` },
        body: JSON.stringify({
          idempotencyKey: randomUUID(),
          items: [{ sku: basic, quantity: 1 }],
          paymentToken: "tok_visa",
        }),
      },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { order: { orderId: string; status: string; customerId: string } };
    expect(body.order).toMatchObject({ status: "ORDER_STATUS_PENDING", customerId: "alice" });
    const order = await waitForStatus(mesh, alice, body.order.orderId);
    expect(order.status).toBe(OrderStatus.CONFIRMED);
  });

  it("rejects an order whose stock cannot be reserved, leaving stock unchanged and nothing charged", async () => {
    const { order } = await place(alice, scarce, 3);
    const final = await waitForStatus(mesh, alice, order?.orderId ?? "");
    expect(final.status).toBe(OrderStatus.REJECTED);
    expect(final.statusReason).toContain(scarce);
    expect(final.endCause).toBe(OrderEndCause.OUT_OF_STOCK);
    expect(await stockLevel(mesh, scarce)).toEqual({ available: 2n, reserved: 0n, sold: 0n });
    expect(mesh.provider.chargeOf(final.orderId)).toBeUndefined();
  });

  /** The status of the order's payment row, tombstones included ("voided"); undefined when it has none. */
  const paymentRow = async (orderId: string) =>
    (await mesh.pools.payment.query<{ status: string }>("SELECT status FROM payments WHERE order_id = $1", [orderId]))
      .rows[0]?.status;

  it("refuses an operator's Charge of an order inventory rejected: nothing is captured", async () => {
    const { order } = await place(alice, scarce, 3);
    const orderId = order?.orderId ?? "";
    await waitForStatus(mesh, alice, orderId, [OrderStatus.REJECTED]);
    await waitFor(async () => (await paymentRow(orderId)) === "voided", { description: "the rejection's tombstone" });
    const payments = mesh.payments(await mesh.serviceToken());
    const answer = await errorCode(payments.charge({ orderId, amount: order?.total, paymentToken: "tok_visa" }));
    expect(answer).toBe("FailedPrecondition");
    expect(mesh.provider.chargeOf(orderId)).toBeUndefined();
    const { order: final } = await mesh.orders(alice).getOrder({ orderId });
    expect(final?.status).toBe(OrderStatus.REJECTED);
    expect(await stockLevel(mesh, scarce)).toEqual({ available: 2n, reserved: 0n, sold: 0n });
  });

  it("refunds what an operator's Charge captured but could not record, once inventory rejects the order", async () => {
    await mesh.stop("payment");
    let orderId = "";
    try {
      const { order } = await place(alice, scarce, 3);
      orderId = order?.orderId ?? "";
      await waitForStatus(mesh, alice, orderId, [OrderStatus.REJECTED]);
      // What a Charge leaves whose provider call captured and whose recording failed (it
      // answered an error, and nobody repeated it): the attempt on record, the money taken.
      await mesh.pools.payment.query("INSERT INTO charge_attempts (order_id, attempts) VALUES ($1, 1)", [orderId]);
      const total = order?.total;
      const captured = await mesh.provider.charge({
        idempotencyKey: orderId,
        amount: total?.amountMinor ?? 0n,
        currency: total?.currencyCode ?? "",
        token: "tok_visa",
      });
      expect(captured.outcome).toBe("captured");
    } finally {
      await mesh.start("payment");
    }
    const payments = mesh.payments(await mesh.serviceToken());
    await waitFor(async () => (await paymentRow(orderId)) === "refunded", { description: "the capture refunded" });
    const { order: final } = await mesh.orders(alice).getOrder({ orderId });
    expect(final?.status).toBe(OrderStatus.CANCELLED);
    expect(final?.statusReason).toMatch(/paid after its stock was refused/);
    expect(final?.endCause).toBe(OrderEndCause.CAPTURE_REFUNDED);
    expect((await payments.getPayment({ orderId })).payment?.status).toBe(PaymentStatus.REFUNDED);
    expect(mesh.provider.chargeOf(orderId)?.calls).toBe(1);
    expect(mesh.provider.refundOf(`refund:${orderId}`)?.calls).toBe(1);
    expect(await stockLevel(mesh, scarce)).toEqual({ available: 2n, reserved: 0n, sold: 0n });
  });

  it("cancels an order whose card is declined and puts its stock back", async () => {
    const before = await stockLevel(mesh, basic);
    const { order } = await place(alice, basic, 5, "tok_declined");
    const final = await waitForStatus(mesh, alice, order?.orderId ?? "");
    expect(final.status).toBe(OrderStatus.CANCELLED);
    expect(final.statusReason).toBe("card declined");
    expect(final.endCause).toBe(OrderEndCause.PAYMENT_DECLINED);
    await waitFor(async () => (await stockLevel(mesh, basic)).available === before.available, {
      description: "declined order's stock released",
    });
    expect(await stockLevel(mesh, basic)).toEqual(before);
  });

  it("retries transient payment failures and confirms with exactly one charge", async () => {
    const { order } = await place(alice, slow, 1, "tok_transient_3");
    const final = await waitForStatus(mesh, alice, order?.orderId ?? "");
    expect(final.status).toBe(OrderStatus.CONFIRMED);
    const charge = mesh.provider.chargeOf(final.orderId);
    expect(charge?.transientFailures).toBe(3);
    expect(charge?.outcome?.outcome).toBe("captured");
    const { payment } = await mesh.payments(await mesh.serviceToken()).getPayment({ orderId: final.orderId });
    expect(payment?.attempts).toBe(4);
  });

  it("answers the same order for a repeated idempotency key, even concurrently, and refuses a different body", async () => {
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 8 }, () => place(bob, basic, 1, "tok_visa", key)));
    const ids = new Set(results.map((result) => result.order?.orderId));
    expect(ids.size).toBe(1);
    const { rows } = await mesh.pools.order.query("SELECT count(*)::int AS n FROM orders WHERE idempotency_key = $1", [
      key,
    ]);
    expect(rows[0].n).toBe(1);
    const { rows: events } = await mesh.pools.order.query(
      "SELECT count(*)::int AS n FROM outbox WHERE event_type = 'shopmesh.order.v1.OrderPlaced' AND headers->>'Shopmesh-Key' = $1",
      [[...ids][0]],
    );
    expect(events[0].n).toBe(1);
    expect(await errorCode(place(bob, basic, 2, "tok_visa", key))).toBe("AlreadyExists");
    const { order: alices } = await place(alice, basic, 1, "tok_visa", key);
    expect(alices?.orderId).not.toBe([...ids][0]);
    // Settled before the next test stops payment: an event delivered to a consumer as it
    // stops comes back only after the stream's ack wait (30 s).
    await waitForStatus(mesh, alice, alices?.orderId ?? "");
  });

  it("cancels before capture: stock released once, nothing charged in the end", async () => {
    await mesh.stop("payment");
    let orderId = "";
    try {
      const before = await stockLevel(mesh, cancellable);
      const { order } = await place(alice, cancellable, 4);
      orderId = order?.orderId ?? "";
      await waitForStatus(mesh, alice, orderId, [OrderStatus.RESERVED]);
      const { order: cancelled } = await mesh.orders(alice).cancelOrder({ orderId, reason: "changed my mind" });
      expect(cancelled?.status).toBe(OrderStatus.CANCELLED);
      expect(cancelled?.statusReason).toBe("cancelled by the customer: changed my mind");
      expect(cancelled?.endCause).toBe(OrderEndCause.CUSTOMER);
      await waitFor(async () => (await stockLevel(mesh, cancellable)).available === before.available, {
        description: "reservation released",
      });
    } finally {
      await mesh.start("payment");
    }
    await waitFor(
      async () =>
        (
          await mesh.pools.payment.query(
            "SELECT 1 FROM payments WHERE order_id = $1 AND status IN ('voided', 'refunded')",
            [orderId],
          )
        ).rowCount === 1,
      { description: "payment caught up with the cancelled order" },
    );
    expect(await stockLevel(mesh, cancellable)).toEqual({ available: 100n, reserved: 0n, sold: 0n });
  });

  it("cancels after capture: refunds once and releases the stock once", async () => {
    const { order } = await place(alice, refundable, 3);
    const orderId = order?.orderId ?? "";
    await waitForStatus(mesh, alice, orderId, [OrderStatus.CONFIRMED]);
    await waitFor(async () => (await stockLevel(mesh, refundable)).sold === 3n, { description: "reservation sold" });
    expect(await stockLevel(mesh, refundable)).toEqual({ available: 97n, reserved: 0n, sold: 3n });
    const orders = mesh.orders(alice);
    const reason = "ordered the wrong size";
    const [first, second] = await Promise.all([
      orders.cancelOrder({ orderId, reason }),
      orders.cancelOrder({ orderId, reason }),
    ]);
    expect([first.order?.status, second.order?.status]).toEqual([OrderStatus.CANCELLED, OrderStatus.CANCELLED]);
    const payments = mesh.payments(await mesh.serviceToken());
    const refunded = await waitFor(
      async () => {
        const { payment } = await payments.getPayment({ orderId });
        return payment?.status === PaymentStatus.REFUNDED && payment;
      },
      { description: "payment refunded" },
    );
    expect(refunded.refundReason).toBe(`order cancelled: cancelled by the customer: ${reason}`);
    await waitFor(async () => (await stockLevel(mesh, refundable)).available === 100n, { description: "stock back" });
    expect(await stockLevel(mesh, refundable)).toEqual({ available: 100n, reserved: 0n, sold: 0n });
    expect(mesh.provider.refundOf(`refund:${orderId}`)?.calls).toBe(1);
  });

  it("follows, reads and cancels an order named by its id in upper case, as string.uuid allows", async () => {
    await mesh.stop("payment");
    let orderId = "";
    let watches: Awaited<ReturnType<typeof firstOf>>[];
    try {
      const { order } = await place(alice, upperCased, 1);
      orderId = order?.orderId ?? "";
      await waitForStatus(mesh, alice, orderId, [OrderStatus.RESERVED]);
      // Both watches have read the order before payment is back, so the confirmation can
      // reach them only through the change notification, which names the id in lower case.
      watches = await Promise.all([
        firstOf(watch(orderId.toUpperCase(), "connect")),
        firstOf(watch(orderId.toUpperCase(), "grpc")),
      ]);
    } finally {
      await mesh.start("payment");
    }
    expect(watches.map((watching) => watching.first)).toEqual([OrderStatus.RESERVED, OrderStatus.RESERVED]);
    expect(await Promise.all(watches.map((watching) => watching.rest))).toEqual([
      [OrderStatus.CONFIRMED],
      [OrderStatus.CONFIRMED],
    ]);
    const orders = mesh.orders(alice);
    expect((await orders.getOrder({ orderId: orderId.toUpperCase() })).order?.orderId).toBe(orderId);
    const { order: cancelled } = await orders.cancelOrder({ orderId: orderId.toUpperCase(), reason: "too late" });
    expect(cancelled?.status).toBe(OrderStatus.CANCELLED);
    const payments = mesh.payments(await mesh.serviceToken());
    await waitFor(async () => (await payments.getPayment({ orderId })).payment?.status === PaymentStatus.REFUNDED, {
      description: "payment refunded",
    });
  });

  it("keeps customers apart and internal RPCs internal", async () => {
    const { order } = await place(alice, basic, 1);
    const orderId = order?.orderId ?? "";
    expect(await errorCode(mesh.orders(bob).getOrder({ orderId }))).toBe("NotFound");
    expect(await errorCode(mesh.orders(bob).cancelOrder({ orderId }))).toBe("NotFound");
    const { orders } = await mesh.orders(bob).listOrders({});
    expect(orders.every((listed) => listed.customerId === "bob")).toBe(true);
    expect(await errorCode(mesh.stock(alice).setStock({ sku: basic, onHand: 1000n }))).toBe("PermissionDenied");
    expect(await errorCode(mesh.payments(alice).refund({ orderId }))).toBe("PermissionDenied");
    expect(await errorCode(mesh.orders("").getOrder({ orderId }))).toBe("Unauthenticated");
    expect(await errorCode(mesh.orders("not-a-jwt").getOrder({ orderId }))).toBe("Unauthenticated");
    await waitForStatus(mesh, alice, orderId);
  });

  it("refuses bad input with field violations and writes nothing", async () => {
    const before = (await mesh.pools.order.query("SELECT count(*)::int AS n FROM orders")).rows[0].n;
    const bad = mesh.orders(alice).placeOrder({
      idempotencyKey: "x",
      items: [
        { sku: "bad sku", quantity: 0 },
        { sku: basic, quantity: 1 },
        { sku: basic, quantity: 1 },
      ],
      paymentToken: "tok_visa",
    });
    const error = await bad.then(
      () => undefined,
      (e) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toMatch(/idempotency_key/);
    expect(error?.rawMessage).toMatch(/items\[0\]\.sku/);
    expect(error?.rawMessage).toMatch(/items\[0\]\.quantity/);
    // Each violation names its field, so a form can show it there: the repeated SKU too.
    const violations = error?.findDetails(BadRequestSchema).flatMap(({ fieldViolations }) => fieldViolations);
    expect(violations?.find(({ description }) => /each SKU may appear only once/.test(description))?.field).toBe(
      "items",
    );
    const reservingTwice = await mesh
      .stock(await mesh.serviceToken())
      .reserveStock({
        orderId: randomUUID(),
        items: [
          { sku: basic, quantity: 1 },
          { sku: basic, quantity: 2 },
        ],
      })
      .then(
        () => undefined,
        (e) => ConnectError.from(e),
      );
    expect(reservingTwice?.findDetails(BadRequestSchema)[0]?.fieldViolations.map(({ field }) => field)).toEqual([
      "items",
    ]);
    expect(await errorCode(place(alice, "NO-SUCH-SKU", 1))).toBe("NotFound");
    // Nothing to charge, so no payment would ever confirm it.
    const nothingToPay = await place(alice, free, 2).then(
      () => undefined,
      (e) => ConnectError.from(e),
    );
    expect(nothingToPay?.code).toBe(Code.FailedPrecondition);
    expect(nothingToPay?.findDetails(ErrorInfoSchema)[0]?.reason).toBe("ORDER_NOTHING_TO_CHARGE");
    expect((await mesh.pools.order.query("SELECT count(*)::int AS n FROM orders")).rows[0].n).toBe(before);
  });

  it("refuses thousands of items as too many, with a field violation, not as a server fault", async () => {
    const before = (await mesh.pools.order.query("SELECT count(*)::int AS n FROM orders")).rows[0].n;
    // ~90 KB, far under the message size limit: enough lines to overflow the CEL
    // evaluator's stack in the unique-SKU rule, were it evaluated.
    const items = Array.from({ length: 5_000 }, (_, i) => ({ sku: `SKU-${i}`, quantity: 1 }));
    const overGrpc = await mesh
      .orders(alice)
      .placeOrder({ idempotencyKey: randomUUID(), items, paymentToken: "tok_visa" })
      .then(
        () => undefined,
        (e) => ConnectError.from(e),
      );
    expect(`${Code[overGrpc?.code ?? 0]}: ${overGrpc?.rawMessage}`).toMatch(/^InvalidArgument: items: .*max_items/);
    const overConnect = await fetch(
      `http://127.0.0.1:${mesh.ports.order.http}/shopmesh.order.v1.OrderService/PlaceOrder`,
      {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${alice}` },
        body: JSON.stringify({ idempotencyKey: randomUUID(), items, paymentToken: "tok_visa" }),
      },
    );
    expect(overConnect.status).toBe(400);
    expect(await overConnect.json()).toMatchObject({ code: "invalid_argument" });
    const reserving = await mesh
      .stock(await mesh.serviceToken())
      .reserveStock({ orderId: randomUUID(), items })
      .then(
        () => undefined,
        (e) => ConnectError.from(e),
      );
    expect(`${Code[reserving?.code ?? 0]}: ${reserving?.rawMessage}`).toMatch(/^InvalidArgument: items: .*max_items/);
    expect((await mesh.pools.order.query("SELECT count(*)::int AS n FROM orders")).rows[0].n).toBe(before);
  });

  it("refuses a cancel reason holding NUL (U+0000), which SQL text cannot, with a field violation", async () => {
    const { order } = await place(alice, basic, 1);
    const orderId = order?.orderId ?? "";
    const final = await waitForStatus(mesh, alice, orderId);
    const error = await mesh
      .orders(alice)
      .cancelOrder({ orderId, reason: "changed my mind\u0000" })
      .then(
        () => undefined,
        (e) => ConnectError.from(e),
      );
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toMatch(/^reason: /);
    expect((await mesh.orders(alice).getOrder({ orderId })).order?.status).toBe(final.status);
  });

  it("prices a burst of orders that name more products than one catalog call may", async () => {
    const many = products(150, 1n);
    await mesh.seed(many);
    const catalogClient = createCatalogClient(`127.0.0.1:${mesh.ports.inventory.grpc}`, 0);
    try {
      // Asked in one tick: the first lookup is sent at once and the other 149 share what
      // follows it — more SKUs than BatchGetProducts takes in one call (100).
      const found = await Promise.all(
        many.map(({ sku }) => catalogClient.lookup([sku], { timeoutMs: 5_000, callersDeadline: false })),
      );
      expect(found.map((entries, index) => entries.get(many[index]?.sku ?? "")?.priceMinor)).toEqual(
        many.map(({ price }) => price.amountMinor),
      );
    } finally {
      catalogClient.close();
    }
  });

  it("keeps every invariant after all of the above", async () => {
    const report = await checkSettledInvariants(mesh, stockOf(catalog));
    expect(report.moneyProblems).toEqual([]);
    expect(report.stockProblems).toEqual([]);
    expect(report.deadLetters).toEqual([]);
    expect(report.capturedMinor).toBe(report.confirmedMinor);
  });
});

/**
 * WatchOrder over the Connect protocol's server streaming, as the storefront uses it,
 * or over gRPC (HTTP/2, the gRPC listener).
 */
function watch(orderId: string, protocol: "connect" | "grpc" = "connect") {
  const transport =
    protocol === "connect"
      ? createConnectTransport({ baseUrl: `http://127.0.0.1:${mesh.ports.order.http}`, httpVersion: "1.1" })
      : createGrpcTransport({ baseUrl: `http://127.0.0.1:${mesh.ports.order.grpc}` });
  return createClient(OrderService, transport).watchOrder(
    { orderId },
    { headers: { authorization: `Bearer ${alice}` }, timeoutMs: 20_000 },
  );
}

/** A watch whose first message has arrived; `rest` collects the statuses that follow. */
async function firstOf(stream: ReturnType<typeof watch>) {
  const iterator = stream[Symbol.asyncIterator]();
  const statusOf = (result: IteratorResult<{ order?: { status: OrderStatus } }>) =>
    result.done ? undefined : result.value.order?.status;
  const first = statusOf(await iterator.next());
  const rest = (async () => {
    const seen: (OrderStatus | undefined)[] = [];
    for (let result = await iterator.next(); !result.done; result = await iterator.next()) seen.push(statusOf(result));
    return seen;
  })();
  return { first, rest };
}
