import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { StockReservedSchema } from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import {
  OrderCancelledSchema,
  OrderPlacedSchema,
  OrderRejectedSchema,
} from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import {
  PaymentCapturedSchema,
  PaymentDeclinedSchema,
  PaymentRefundedSchema,
} from "@shopmesh/gen/shopmesh/payment/v1/payment_events_pb.js";
import { createTestPool, waitFor } from "@shopmesh/testing";
import type pg from "pg";
import { describe, expect, test } from "vitest";
import { cancelPayment } from "../src/cancel-payment.js";
import { chargePayment } from "../src/charge-payment.js";
import { settleRejectedOrder } from "../src/rejected-order.js";
import type { PaymentDeps } from "../src/use-case.js";
import { latch, usePaymentService } from "./harness.js";

const payment = usePaymentService("payment events");

async function rowWithStatus(orderId: string, status: string, timeoutMs?: number) {
  return waitFor(
    async () => {
      const row = await payment.row(orderId);
      return row?.status === status ? row : undefined;
    },
    { description: `payment of ${orderId} ${status}`, timeoutMs },
  );
}

/** A 19.99 USD charge with the order's key made at the provider directly, as a call the service lost track of. */
const chargeAtProvider = (orderId: string) =>
  payment.simulator.charge({ idempotencyKey: orderId, amount: 1999n, currency: "USD", token: "tok_visa" });

/**
 * A pool on the service's database whose next statement named `name` waits until the
 * test releases it (`reached` resolves when it is about to be sent), to stage races
 * between use cases called directly.
 */
function poolHolding(name: string) {
  const pool = createTestPool({ connectionString: payment.databaseUrl, max: 4 });
  const reached = latch();
  const released = latch();
  let held = false;
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: unknown }).query = async (...args: unknown[]) => {
    const config = args[0] as { name?: string } | string;
    if (!held && typeof config === "object" && config.name === name) {
      held = true;
      reached.open();
      await released.opened;
    }
    return query(...args);
  };
  return { pool, reached: reached.opened, release: released.open };
}

/** The types of the outbox events about an order. */
async function outboxEvents(pool: pg.Pool, orderId: string): Promise<string[]> {
  const { rows } = await pool.query<{ type: string }>(
    "SELECT event_type AS type FROM outbox WHERE headers->>'Shopmesh-Key' = $1",
    [orderId],
  );
  return rows.map((row) => row.type);
}

/**
 * An operator's Charge (19.99 USD, tok_visa) that captures at the provider and then
 * cannot record it (a lost connection: it answers an error), or whose replica stops.
 */
async function chargeLosingItsRecord(deps: PaymentDeps, orderId: string) {
  const losing: PaymentDeps = {
    ...deps,
    charges: { begin: deps.charges.begin, record: () => Promise.reject(new Error("connection lost")) },
  };
  await expect(
    chargePayment(losing, { orderId, amount: { amountMinor: 1999n, currency: "USD" }, token: "tok_visa" }),
  ).rejects.toThrow("connection lost");
  expect(payment.simulator.chargeOf(orderId)?.outcome?.outcome).toBe("captured");
}

/**
 * Stages an operator's Charge that begins while `voiding` (a cancellation or a rejection
 * that found no payment and no attempt) writes its tombstone, captures, and cannot record
 * it: `voiding` must refund the capture, once, and announce the refund.
 */
async function chargeWhileVoiding(voiding: (deps: PaymentDeps, orderId: string) => Promise<void>) {
  const orderId = randomUUID();
  const { pool, reached, release } = poolHolding("payment-insert-voided");
  try {
    const deps = payment.depsOn(pool);
    const voided = voiding(deps, orderId);
    await reached;
    await chargeLosingItsRecord(deps, orderId);
    release();
    await voided;
    expect(payment.simulator.refundOf(`refund:${orderId}`)?.calls).toBe(1);
    expect(await payment.row(orderId)).toMatchObject({ status: "refunded", amount_minor: "1999", attempts: 1 });
    // Its event is in the outbox (written on the test's pool, which no relay watches).
    expect(await outboxEvents(pool, orderId)).toEqual(["shopmesh.payment.v1.PaymentRefunded"]);
  } finally {
    release();
    await pool.end();
  }
}

/** The reasons of the dead letters about an order. */
async function deadLettersAbout(orderId: string): Promise<string[]> {
  return (await payment.deadLetters())
    .filter((message) => message.header?.get("Shopmesh-Key") === orderId)
    .map((message) => message.header?.get("Shopmesh-Dead-Letter-Reason") ?? "");
}

async function theOnlyEvent<T>(read: () => Promise<T[]>, description: string): Promise<T> {
  const [event] = await waitFor(
    async () => {
      const events = await read();
      return events.length > 0 ? events : undefined;
    },
    { description },
  );
  expect(await read()).toHaveLength(1);
  return event as T;
}

describe("StockReserved charges the order", () => {
  test("tok_visa: the payment is captured and PaymentCaptured is published", async () => {
    const reserved = await payment.publish(StockReservedSchema, payment.stockReserved("tok_visa"));
    const row = await rowWithStatus(reserved.orderId, "captured");
    expect(row).toMatchObject({ amount_minor: "1999", currency: "USD", attempts: 1, decline_reason: null });
    expect(row.provider_reference).toMatch(/^sim_ch_/);

    const captured = await theOnlyEvent(
      () => payment.events(PaymentCapturedSchema, reserved.orderId),
      "PaymentCaptured on the PAYMENTS stream",
    );
    expect(captured.paymentId).toBe(row.payment_id);
    expect(captured.amount).toMatchObject({ amountMinor: 1999n, currencyCode: "USD" });
    expect(payment.simulator.chargeOf(reserved.orderId)?.calls).toBe(1);
  });

  test("tok_declined: the payment is declined and PaymentDeclined is published", async () => {
    const reserved = await payment.publish(StockReservedSchema, payment.stockReserved("tok_declined"));
    const row = await rowWithStatus(reserved.orderId, "declined");
    expect(row).toMatchObject({ decline_reason: "card declined", provider_reference: null });
    const declined = await theOnlyEvent(
      () => payment.events(PaymentDeclinedSchema, reserved.orderId),
      "PaymentDeclined on the PAYMENTS stream",
    );
    expect(declined).toMatchObject({ paymentId: row.payment_id, reason: "card declined" });
    expect(await payment.events(PaymentCapturedSchema, reserved.orderId)).toEqual([]);
  });

  test("tok_transient_9: a provider failing transiently more often than the attempts a bug gets is waited out, captured once", async () => {
    const reserved = await payment.publish(StockReservedSchema, payment.stockReserved("tok_transient_9"));
    const row = await rowWithStatus(reserved.orderId, "captured", 20_000);
    expect(row.attempts).toBe(10);
    expect(payment.simulator.chargeOf(reserved.orderId)).toMatchObject({ calls: 10, transientFailures: 9 });
    await theOnlyEvent(() => payment.events(PaymentCapturedSchema, reserved.orderId), "one PaymentCaptured");
    expect(await deadLettersAbout(reserved.orderId)).toEqual([]);
  });

  test("an order id spelled in upper case charges under the key the RPCs use, the id as PostgreSQL answers it", async () => {
    const orderId = randomUUID();
    await payment.publish(StockReservedSchema, payment.stockReserved("tok_visa", orderId.toUpperCase()));
    await rowWithStatus(orderId, "captured");
    expect(payment.simulator.chargeOf(orderId)).toMatchObject({ calls: 1, outcome: { outcome: "captured" } });
    expect(payment.simulator.chargeOf(orderId.toUpperCase())).toBeUndefined();
  });

  test("tok_transient_3: retried with backoff, captured once, attempts counted", async () => {
    const reserved = await payment.publish(StockReservedSchema, payment.stockReserved("tok_transient_3"));
    const row = await rowWithStatus(reserved.orderId, "captured");
    expect(row.attempts).toBe(4);
    expect(payment.simulator.chargeOf(reserved.orderId)).toMatchObject({
      calls: 4,
      transientFailures: 3,
      outcome: { outcome: "captured" },
    });
    await theOnlyEvent(() => payment.events(PaymentCapturedSchema, reserved.orderId), "one PaymentCaptured");
  });

  test("the same StockReserved delivered twice (same event id, new msg id) charges once", async () => {
    const reserved = await payment.publish(StockReservedSchema, payment.stockReserved("tok_visa_slow"));
    await payment.publishAgain(StockReservedSchema, reserved);
    await payment.waitUntilHandled("INVENTORY");
    expect(payment.simulator.chargeOf(reserved.orderId)?.calls).toBe(1);
    expect((await payment.row(reserved.orderId))?.status).toBe("captured");
    await theOnlyEvent(() => payment.events(PaymentCapturedSchema, reserved.orderId), "one PaymentCaptured");
  });

  test("a second StockReserved of a charged order (new event id) charges nothing more", async () => {
    const orderId = randomUUID();
    await payment.publish(StockReservedSchema, payment.stockReserved("tok_visa", orderId));
    await rowWithStatus(orderId, "captured");
    await payment.publish(StockReservedSchema, payment.stockReserved("tok_visa", orderId));
    await payment.waitUntilHandled("INVENTORY");
    expect(payment.simulator.chargeOf(orderId)?.calls).toBe(1);
    expect(await payment.events(PaymentCapturedSchema, orderId)).toHaveLength(1);
  });
});

describe("OrderCancelled", () => {
  test("before StockReserved: a voided tombstone, and the later StockReserved charges nothing", async () => {
    const orderId = randomUUID();
    await payment.publish(OrderCancelledSchema, { orderId, reason: "changed my mind", byCustomer: true });
    const row = await rowWithStatus(orderId, "voided");
    expect(row).toMatchObject({ amount_minor: null, attempts: 0 });

    await payment.publish(StockReservedSchema, payment.stockReserved("tok_visa", orderId));
    await payment.waitUntilHandled("INVENTORY");
    expect(payment.simulator.chargeOf(orderId)).toBeUndefined();
    expect((await payment.row(orderId))?.status).toBe("voided");
    expect(await payment.events(PaymentCapturedSchema, orderId)).toEqual([]);
  });

  test("after capture: exactly one refund even when delivered twice", async () => {
    const reserved = await payment.publish(StockReservedSchema, payment.stockReserved("tok_visa"));
    const { orderId } = reserved;
    await rowWithStatus(orderId, "captured");
    const cancelled = await payment.publish(OrderCancelledSchema, { orderId, reason: "customer", byCustomer: true });
    await payment.publishAgain(OrderCancelledSchema, cancelled);
    await payment.publish(OrderCancelledSchema, { orderId, reason: "again, new event", byCustomer: true });
    const row = await rowWithStatus(orderId, "refunded");
    expect(row.refund_reference).toMatch(/^sim_re_/);
    await payment.waitUntilHandled("ORDERS");

    expect(payment.simulator.refundOf(`refund:${orderId}`)?.calls).toBe(1);
    const refunded = await theOnlyEvent(() => payment.events(PaymentRefundedSchema, orderId), "one PaymentRefunded");
    expect(refunded).toMatchObject({ paymentId: row.payment_id, amount: { amountMinor: 1999n, currencyCode: "USD" } });
  });

  test("after capture, while the provider's refunds fail for longer than the attempts a bug gets: refunded once it answers", async () => {
    const reserved = await payment.publish(StockReservedSchema, payment.stockReserved("tok_visa"));
    const { orderId } = reserved;
    await rowWithStatus(orderId, "captured");
    const failuresLeft = payment.failRefunds(orderId, 12);
    await payment.publish(OrderCancelledSchema, { orderId, reason: "customer", byCustomer: true });
    const row = await rowWithStatus(orderId, "refunded", 20_000);
    expect(failuresLeft()).toBe(0);
    expect(payment.simulator.refundOf(`refund:${orderId}`)?.calls).toBe(1);
    await theOnlyEvent(() => payment.events(PaymentRefundedSchema, orderId), "one PaymentRefunded");
    expect(row.refund_reference).toMatch(/^sim_re_/);
    expect(await deadLettersAbout(orderId)).toEqual([]);
  });

  test("after a decline: nothing to refund", async () => {
    const reserved = await payment.publish(StockReservedSchema, payment.stockReserved("tok_insufficient_funds"));
    await rowWithStatus(reserved.orderId, "declined");
    await payment.publish(OrderCancelledSchema, { orderId: reserved.orderId, reason: "payment declined" });
    await payment.waitUntilHandled("ORDERS");
    expect((await payment.row(reserved.orderId))?.status).toBe("declined");
    expect(payment.simulator.refundOf(`refund:${reserved.orderId}`)).toBeUndefined();
  });

  test("during the provider call: the money captured meanwhile is refunded by the cancellation, never reported as captured", async () => {
    const orderId = randomUUID();
    const held = payment.hold(orderId);
    await payment.publish(StockReservedSchema, payment.stockReserved("tok_visa", orderId));
    await held.reached;
    await payment.publish(OrderCancelledSchema, { orderId, reason: "too slow", byCustomer: true });
    await rowWithStatus(orderId, "refunded");
    held.release();
    await payment.waitUntilHandled("INVENTORY");

    const row = await rowWithStatus(orderId, "refunded");
    expect(row).toMatchObject({ amount_minor: "1999", attempts: 1 });
    expect(row.provider_reference).toMatch(/^sim_ch_/);
    expect(payment.simulator.chargeOf(orderId)?.calls).toBe(1);
    expect(payment.simulator.refundOf(`refund:${orderId}`)?.calls).toBe(1);
    await theOnlyEvent(() => payment.events(PaymentRefundedSchema, orderId), "one PaymentRefunded");
    expect(await payment.events(PaymentCapturedSchema, orderId)).toEqual([]);
  });

  test("a cancellation with a charge attempt on record that captured (a crash, or a Charge that could not record it): refunded at once, and a StockReserved after it charges nothing", async () => {
    const orderId = randomUUID();
    // The state a crash after the provider call leaves: the attempt recorded and captured at
    // the provider, the outcome not recorded.
    await payment.sql("INSERT INTO charge_attempts (order_id, attempts) VALUES ($1, 1)", [orderId]);
    await chargeAtProvider(orderId);
    await payment.publish(OrderCancelledSchema, { orderId, reason: "customer", byCustomer: true });
    const row = await rowWithStatus(orderId, "refunded");
    expect(row).toMatchObject({ amount_minor: "1999", attempts: 1 });
    expect(row.provider_reference).toMatch(/^sim_ch_/);
    await theOnlyEvent(() => payment.events(PaymentRefundedSchema, orderId), "one PaymentRefunded");

    await payment.publish(StockReservedSchema, payment.stockReserved("tok_visa", orderId));
    await payment.waitUntilHandled("INVENTORY");
    expect(payment.simulator.chargeOf(orderId)).toMatchObject({ calls: 1, outcome: { outcome: "captured" } });
    expect(payment.simulator.refundOf(`refund:${orderId}`)?.calls).toBe(1);
    expect(await payment.events(PaymentRefundedSchema, orderId)).toHaveLength(1);
    expect(await payment.events(PaymentCapturedSchema, orderId)).toEqual([]);
  });

  test("a tombstone whose capture was never settled (the service stopped between the two): a cancellation delivered again refunds it", async () => {
    const orderId = randomUUID();
    await payment.sql("INSERT INTO charge_attempts (order_id, attempts) VALUES ($1, 1)", [orderId]);
    await chargeAtProvider(orderId);
    await payment.sql("INSERT INTO payments (order_id, status) VALUES ($1, 'voided')", [orderId]);
    await payment.publish(OrderCancelledSchema, { orderId, reason: "customer", byCustomer: true });
    const row = await rowWithStatus(orderId, "refunded");
    expect(row).toMatchObject({ amount_minor: "1999", attempts: 1 });
    expect(payment.simulator.refundOf(`refund:${orderId}`)?.calls).toBe(1);
    await theOnlyEvent(() => payment.events(PaymentRefundedSchema, orderId), "one PaymentRefunded");
  });

  test("a Charge that begins while the cancellation voids the order, and cannot record its capture: the cancellation refunds it", () =>
    chargeWhileVoiding((deps, orderId) =>
      cancelPayment(deps, { orderId, reason: "customer" }, { consumer: "payment", eventId: randomUUID() }),
    ));

  test("a tombstone written with its inbox row whose capture was never settled: the same cancellation delivered again refunds it, not dead-lettered", async () => {
    const orderId = randomUUID();
    const eventId = randomUUID();
    // What a cancellation applied before this service settled attempts leaves (or one that
    // read no attempt just before a Charge began): the tombstone with the event's inbox row,
    // and a capture nobody recorded.
    await payment.sql("INSERT INTO charge_attempts (order_id, attempts) VALUES ($1, 1)", [orderId]);
    await chargeAtProvider(orderId);
    await payment.sql("INSERT INTO payments (order_id, status) VALUES ($1, 'voided')", [orderId]);
    await payment.sql("INSERT INTO inbox (consumer, event_id) VALUES ('payment', $1)", [eventId]);
    // The order service's outbox republished: the same event id again.
    await payment.publish(OrderCancelledSchema, { eventId, orderId, reason: "customer", byCustomer: true });
    await payment.waitUntilHandled("ORDERS");
    expect(await deadLettersAbout(orderId)).toEqual([]);
    expect(await payment.row(orderId)).toMatchObject({ status: "refunded", amount_minor: "1999" });
    expect(payment.simulator.refundOf(`refund:${orderId}`)?.calls).toBe(1);
    await theOnlyEvent(() => payment.events(PaymentRefundedSchema, orderId), "one PaymentRefunded");
  });

  test("a tombstone with an attempt that captured another amount than a Charge asks: all of it refunded, the Charge refused", async () => {
    const orderId = randomUUID();
    // The first attempt captured 19.99 USD; the service stopped before recording it, and
    // again after voiding the order cancelled since, before settling it. A Charge then asks for 9.99.
    await chargeAtProvider(orderId);
    await payment.sql("INSERT INTO charge_attempts (order_id, attempts) VALUES ($1, 1)", [orderId]);
    await payment.sql("INSERT INTO payments (order_id, status) VALUES ($1, 'voided')", [orderId]);
    const client = await payment.client("service");
    const answer = await client
      .charge({ orderId, amount: { amountMinor: 999n, currencyCode: "USD" }, paymentToken: "tok_visa" })
      .then(
        () => "answered",
        (error: unknown) => Code[ConnectError.from(error).code],
      );
    expect(answer).toBe("AlreadyExists");
    expect(payment.simulator.refundOf(`refund:${orderId}`)?.amount).toBe(1999n);
    expect(await payment.row(orderId)).toMatchObject({ status: "refunded", amount_minor: "1999" });
  });

  test("a tombstone with a charge attempt that never reached the provider: nothing is charged after the cancel", async () => {
    const orderId = randomUUID();
    // The state a failed call leaves (a timeout before the provider heard of it): the attempt
    // recorded, nothing at the provider, and the order voided since.
    await payment.sql("INSERT INTO charge_attempts (order_id, attempts) VALUES ($1, 1)", [orderId]);
    await payment.publish(OrderCancelledSchema, { orderId, reason: "customer", byCustomer: true });
    await rowWithStatus(orderId, "voided");

    await payment.publish(StockReservedSchema, payment.stockReserved("tok_visa", orderId));
    await payment.waitUntilHandled("INVENTORY");
    expect(payment.simulator.chargeOf(orderId)?.outcome?.outcome).not.toBe("captured");
    expect((await payment.row(orderId))?.status).toBe("voided");
    // A call of the first attempt still on its way would be declined, not captured.
    const late = await chargeAtProvider(orderId);
    expect(late.outcome).toBe("declined");
    expect(payment.simulator.refundOf(`refund:${orderId}`)).toBeUndefined();
    expect(await payment.events(PaymentCapturedSchema, orderId)).toEqual([]);
    expect(await payment.events(PaymentRefundedSchema, orderId)).toEqual([]);
  });

  test("other order events are ignored", async () => {
    const orderId = randomUUID();
    await payment.publish(OrderPlacedSchema, { orderId, customerId: "c-1", paymentToken: "tok_visa" });
    await payment.waitUntilHandled("ORDERS");
    expect(await payment.row(orderId)).toBeUndefined();
  });
});

describe("dead letters", () => {
  const deadLetterOf = (reason: RegExp) =>
    waitFor(
      async () =>
        (await payment.deadLetters()).find((message) =>
          reason.test(message.header?.get("Shopmesh-Dead-Letter-Reason") ?? ""),
        ),
      { description: `a dead letter for ${reason}` },
    );

  test("an undecodable StockReserved ends in the dead-letter stream", async () => {
    await payment.publishRaw(StockReservedSchema, new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    const dead = await deadLetterOf(/undecodable/);
    expect(dead.header?.get("Shopmesh-Dead-Letter-Consumer")).toBe("payment");
    expect(dead.header?.get("Shopmesh-Original-Subject")).toMatch(/\.inventory\.stock\.reserved$/);
  });

  test("a StockReserved without a total is dead-lettered at once, not charged", async () => {
    const orderId = randomUUID();
    await payment.publish(StockReservedSchema, { orderId, paymentToken: "tok_visa" });
    await deadLetterOf(/has no total/);
    expect(payment.simulator.chargeOf(orderId)).toBeUndefined();
    expect(await payment.row(orderId)).toBeUndefined();
  });
});

describe("OrderRejected", () => {
  /** Publishes the order's rejection and waits until payment has handled it. */
  const reject = async (orderId: string) => {
    await payment.publish(OrderRejectedSchema, { orderId, reason: "out of stock: SKU-000042" });
    await payment.waitUntilHandled("ORDERS", "payment-rejections");
  };

  test("after an operator's capture left unrecorded: the capture is recorded and announced, so the order has it refunded", async () => {
    const orderId = randomUUID();
    // The state a Charge leaves whose recording failed after the provider captured (it
    // answered an error): the attempt on record, the capture at the provider, no payment.
    await payment.sql("INSERT INTO charge_attempts (order_id, attempts) VALUES ($1, 1)", [orderId]);
    await chargeAtProvider(orderId);
    await reject(orderId);
    const row = await rowWithStatus(orderId, "captured");
    expect(row).toMatchObject({ amount_minor: "1999", currency: "USD", attempts: 1 });
    expect(row.provider_reference).toMatch(/^sim_ch_/);
    expect(payment.simulator.chargeOf(orderId)?.calls).toBe(1);
    const captured = await theOnlyEvent(() => payment.events(PaymentCapturedSchema, orderId), "one PaymentCaptured");
    expect(captured).toMatchObject({ paymentId: row.payment_id, amount: { amountMinor: 1999n, currencyCode: "USD" } });
  });

  /** What an operator's Charge of the order for 19.99 USD answers: "answered" or its code. */
  const operatorCharge = async (orderId: string) => {
    const client = await payment.client("service");
    return client
      .charge({ orderId, amount: { amountMinor: 1999n, currencyCode: "USD" }, paymentToken: "tok_visa" })
      .then(
        () => "answered",
        (error: unknown) => Code[ConnectError.from(error).code],
      );
  };

  test("with nothing attempted (the saga's own rejections): a tombstone, so a Charge after it is refused without reaching the provider", async () => {
    const orderId = randomUUID();
    await reject(orderId);
    expect((await payment.row(orderId))?.status).toBe("voided");
    expect(await operatorCharge(orderId)).toBe("FailedPrecondition");
    // Neither the consumer nor the Charge asked the provider anything about the order.
    expect(payment.simulator.chargeOf(orderId)).toBeUndefined();
    expect(await payment.events(PaymentCapturedSchema, orderId)).toEqual([]);
    expect(await payment.events(PaymentDeclinedSchema, orderId)).toEqual([]);
  });

  test("after an attempt that never reached the provider: its key is closed and the order voided, so neither a call on its way nor a new Charge captures", async () => {
    const orderId = randomUUID();
    await payment.sql("INSERT INTO charge_attempts (order_id, attempts) VALUES ($1, 1)", [orderId]);
    await reject(orderId);
    expect((await payment.row(orderId))?.status).toBe("voided");
    const late = await chargeAtProvider(orderId);
    expect(late.outcome).toBe("declined");
    expect(await operatorCharge(orderId)).toBe("FailedPrecondition");
    expect(payment.simulator.refundOf(`refund:${orderId}`)).toBeUndefined();
    expect(await payment.events(PaymentCapturedSchema, orderId)).toEqual([]);
  });

  test("a Charge that begins while the rejection voids the order, and cannot record its capture: the rejection refunds it", () =>
    chargeWhileVoiding((deps, orderId) =>
      settleRejectedOrder(deps, orderId, { consumer: "payment-rejections", eventId: randomUUID() }),
    ));

  test("a tombstone whose Charge's capture was never settled (the service stopped between the two): the rejection delivered again refunds it", async () => {
    const orderId = randomUUID();
    // What a rejection leaves when it stops after its tombstone, before settling the attempt
    // a Charge recorded meanwhile (whose capture it could not record).
    await payment.sql("INSERT INTO charge_attempts (order_id, attempts) VALUES ($1, 1)", [orderId]);
    await chargeAtProvider(orderId);
    await payment.sql("INSERT INTO payments (order_id, status) VALUES ($1, 'voided')", [orderId]);
    await reject(orderId);
    const row = await rowWithStatus(orderId, "refunded");
    expect(row).toMatchObject({ amount_minor: "1999", attempts: 1 });
    expect(payment.simulator.refundOf(`refund:${orderId}`)?.calls).toBe(1);
    await theOnlyEvent(() => payment.events(PaymentRefundedSchema, orderId), "one PaymentRefunded");
    expect(await payment.events(PaymentCapturedSchema, orderId)).toEqual([]);
  });

  test("after a payment was recorded: the payment stays, for the order to follow", async () => {
    const orderId = randomUUID();
    expect(await operatorCharge(orderId)).toBe("answered");
    await reject(orderId);
    expect(await payment.row(orderId)).toMatchObject({ status: "captured", amount_minor: "1999" });
    expect(payment.simulator.chargeOf(orderId)?.calls).toBe(1);
    await theOnlyEvent(() => payment.events(PaymentCapturedSchema, orderId), "one PaymentCaptured");
  });
});
