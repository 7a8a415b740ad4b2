// The order service's business metrics (shopmesh.orders, its revenue, its settle-time
// histogram) against what the databases say happened, read in-process from the mesh.
import { randomUUID } from "node:crypto";
import { installMetricReader, waitFor } from "@shopmesh/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Mesh } from "../src/mesh.js";

// Before any service module is imported: they create their instruments when they load.
const measured = installMetricReader();
const { jetstream, jetstreamManager } = await import("@nats-io/jetstream");
const { allEvents, createEventCatalog, publishEvent } = await import("@shopmesh/events");
const { OrderStatus } = await import("@shopmesh/gen/shopmesh/order/v1/order_pb.js");
const { PaymentCapturedSchema } = await import("@shopmesh/gen/shopmesh/payment/v1/payment_events_pb.js");
const { placeOrder, products, waitForStatus } = await import("../src/fixtures.js");
const { startMesh } = await import("../src/mesh.js");

const priceMinor = 1_250n;
const [product] = products(1, 100n, priceMinor);
const sku = product?.sku ?? "";
let mesh: Mesh;
let token: string;

beforeAll(async () => {
  mesh = await startMesh("order_metrics");
  await mesh.seed(product ? [product] : []);
  token = await mesh.customerToken(`customer-${randomUUID()}`);
}, 120_000);
afterAll(() => mesh?.close(), 60_000);

const place = () => placeOrder(mesh.orders(token), sku);

const confirmedInDatabase = async () =>
  Number(
    (await mesh.pools.order.query<{ n: string }>("SELECT count(*) AS n FROM orders WHERE status = 'confirmed'")).rows[0]
      ?.n,
  );

describe("the settle-time histogram (ShopmeshCheckoutSlow)", () => {
  it("measures each checkout once, at its first final status, not when a confirmed order is cancelled later", async () => {
    const settled = async () => {
      const snapshot = await measured.collect();
      const measuredAs = (status: string) =>
        snapshot.count("shopmesh.orders.settle.duration", { "order.status": status });
      return {
        confirmed: measuredAs("confirmed"),
        cancelled: measuredAs("cancelled"),
        countedCancelled: snapshot.total("shopmesh.orders", { "order.status": "cancelled" }),
      };
    };
    const orders = mesh.orders(token);
    const before = await settled();
    const confirmed = await place();
    const declined = (
      await orders.placeOrder({
        idempotencyKey: randomUUID(),
        items: [{ sku, quantity: 1 }],
        paymentToken: "tok_declined",
      })
    ).order?.orderId;
    await waitForStatus(mesh, token, confirmed, [OrderStatus.CONFIRMED]);
    await waitForStatus(mesh, token, declined ?? "", [OrderStatus.CANCELLED]);
    // The customer changes their mind once the order is confirmed: a cancellation, but
    // not a checkout settling (the order's age would be its "settle time").
    await orders.cancelOrder({ orderId: confirmed, reason: "changed my mind" });
    // The consumer records its transitions just after their commit, which a reader of the
    // order can see first: wait for the counts, then check that none goes past.
    const expected = { confirmed: 1, cancelled: 1, countedCancelled: 2 };
    const measuredSince = async () => {
      const after = await settled();
      return {
        confirmed: after.confirmed - before.confirmed,
        cancelled: after.cancelled - before.cancelled,
        countedCancelled: after.countedCancelled - before.countedCancelled,
      };
    };
    await waitFor(async () => JSON.stringify(await measuredSince()) === JSON.stringify(expected), {
      description: "the checkouts measured",
    }).catch(() => undefined);
    expect(await measuredSince()).toEqual(expected);
  });
});

describe("confirmed orders", () => {
  it("are counted once each, with their revenue, even when their batch is rolled back and applied again", async () => {
    const before = await measured.collect();
    const confirmedBefore = await confirmedInDatabase();
    await mesh.stop("payment"); // orders wait RESERVED: the test captures their payments itself
    const [a, b, c] = [await place(), await place(), await place()];
    for (const orderId of [a, b, c]) await waitForStatus(mesh, token, orderId, [OrderStatus.RESERVED]);
    const nc = await mesh.nats.connect();
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const catalog = createEventCatalog(allEvents, mesh.nats.prefix);
    // Captures delivered to the order consumer and not yet acked: in its hands.
    const inHand = async () => (await jsm.consumers.info(catalog.streamName("PAYMENTS"), "order")).num_ack_pending;
    const capture = (orderId: string, eventId = randomUUID()) =>
      publishEvent(js, catalog, PaymentCapturedSchema, {
        eventId,
        orderId,
        paymentId: randomUUID(),
        amount: { amountMinor: priceMinor, currencyCode: "USD" },
      });

    await capture(a);
    await waitForStatus(mesh, token, a, [OrderStatus.CONFIRMED]);
    // C's row held: the consumer's next batch (C's capture) waits, and what arrives
    // meanwhile forms one batch: B's capture, and an event a replica applied before
    // (its inbox row is there) whose ack was lost. That batch is rolled back and its
    // events applied again one by one.
    const locker = await mesh.pools.order.connect();
    try {
      await locker.query("BEGIN");
      await locker.query("SELECT 1 FROM orders WHERE order_id = $1 FOR UPDATE", [c]);
      await capture(c);
      await waitFor(
        async () =>
          (
            await mesh.pools.order.query(
              "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
          ).rowCount === 1,
        { description: "the consumer's batch waiting for C's row" },
      );
      const appliedBefore = randomUUID();
      await mesh.pools.order.query("INSERT INTO inbox (consumer, event_id) VALUES ('order', $1)", [appliedBefore]);
      await capture(a, appliedBefore);
      await capture(b);
      await waitFor(async () => (await inHand()) === 3, {
        description: "both captures in the consumer's hands while C's batch waits",
      });
    } finally {
      await locker.query("COMMIT");
      locker.release();
    }
    for (const orderId of [b, c]) await waitForStatus(mesh, token, orderId, [OrderStatus.CONFIRMED]);

    expect((await confirmedInDatabase()) - confirmedBefore).toBe(3);
    // Counted once the batch's transaction has committed, which waitForStatus saw; the
    // first collection of a new currency's revenue reports 0 (see order-metrics.ts).
    await measured.collect();
    const after = await measured.collect();
    const delta = (name: string, attributes = {}) => after.total(name, attributes) - before.total(name, attributes);
    expect({
      confirmed: delta("shopmesh.orders", { "order.status": "confirmed" }),
      revenue: delta("shopmesh.orders.revenue", { currency: "USD" }),
    }).toEqual({ confirmed: 3, revenue: 3 * Number(priceMinor) });
  });
});

describe("a saga outcome whose order id is spelled in upper case (the uuid's other valid form)", () => {
  it("advances the order as the id PostgreSQL answers would", async () => {
    await mesh.stop("payment"); // the order waits RESERVED: the test captures its payment itself
    const orderId = await place();
    await waitForStatus(mesh, token, orderId, [OrderStatus.RESERVED]);
    const nc = await mesh.nats.connect();
    await publishEvent(jetstream(nc), createEventCatalog(allEvents, mesh.nats.prefix), PaymentCapturedSchema, {
      orderId: orderId.toUpperCase(),
      paymentId: randomUUID(),
      amount: { amountMinor: priceMinor, currencyCode: "USD" },
    });
    await waitForStatus(mesh, token, orderId, [OrderStatus.CONFIRMED]);
  });
});
