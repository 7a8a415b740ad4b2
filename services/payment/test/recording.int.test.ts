import { randomUUID } from "node:crypto";
import { type DescMessage, fromBinary } from "@bufbuild/protobuf";
import {
  PaymentCapturedSchema,
  PaymentDeclinedSchema,
  PaymentRefundedSchema,
} from "@shopmesh/gen/shopmesh/payment/v1/payment_events_pb.js";
import { createPool } from "@shopmesh/pg";
import { createTestPool } from "@shopmesh/testing";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { chargePayment } from "../src/charge-payment.js";
import { outcomeEvent, refundEvent } from "../src/payment-events.js";
import type { ChargeOutcome } from "../src/payment-provider.js";
import {
  beginCharges,
  type InboxEntry,
  insertVoided,
  markRefunded,
  type NewOutcome,
  recordOutcomes,
  refundVoided,
} from "../src/payment-store.js";
import { usePaymentService } from "./harness.js";

const payment = usePaymentService("payment recording");

/** Every statement the pool's connections send, in order. */
const statements: string[] = [];
let pool: pg.Pool;

beforeAll(() => {
  pool = createTestPool({ connectionString: payment.databaseUrl, max: 4 });
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    Object.assign(client, {
      query: (...args: unknown[]) => {
        const text = args[0] as string | { text: string };
        statements.push(typeof text === "string" ? text : text.text);
        return query(...args);
      },
    });
  });
});
afterAll(() => pool.end());

const usd = { amountMinor: 1999n, currency: "USD" };
const captured: ChargeOutcome = { outcome: "captured", reference: "ch_test" };
const inboxOf = (eventId: string = randomUUID()): InboxEntry => ({ consumer: "payment", eventId });

function outcomeOf(orderId: string, outcome: ChargeOutcome = captured): NewOutcome {
  return { paymentId: randomUUID(), orderId, amount: usd, outcome, attempts: 1 };
}

async function record(outcome: NewOutcome, inbox?: InboxEntry) {
  const [recorded] = await recordOutcomes(pool, payment.outbox, [
    { outcome, event: outcomeEvent(payment.outbox, outcome), inbox },
  ]);
  return recorded;
}

async function inboxHas(eventId: string): Promise<boolean> {
  const { rowCount } = await pool.query("SELECT FROM inbox WHERE consumer = 'payment' AND event_id = $1", [eventId]);
  return rowCount === 1;
}

/** The events written to the outbox about an order, decoded. */
async function outboxEvents(orderId: string) {
  const { rows } = await pool.query<{ event_type: string; payload: Buffer }>(
    `SELECT event_type, payload FROM outbox WHERE headers->>'Shopmesh-Key' = $1 ORDER BY id`,
    [orderId],
  );
  const schemas: DescMessage[] = [PaymentCapturedSchema, PaymentDeclinedSchema, PaymentRefundedSchema];
  return rows.map((row) => {
    const schema = schemas.find((candidate) => candidate.typeName === row.event_type);
    if (!schema) throw new Error(`unexpected event ${row.event_type}`);
    return { type: row.event_type, ...(fromBinary(schema, row.payload) as { paymentId?: string }) };
  });
}

describe("a StockReserved charge", () => {
  test("costs two statements and no transaction: read-and-count the attempt, then record", async () => {
    const orderId = randomUUID();
    const inbox = inboxOf();
    const deps = payment.depsOn(pool);
    statements.length = 0;
    const charged = await chargePayment(deps, { orderId, amount: usd, token: "tok_visa" }, inbox);

    expect(statements).toHaveLength(2);
    expect(statements.some((text) => /^\s*(BEGIN|COMMIT)/i.test(text))).toBe(false);
    expect(charged).toMatchObject({ status: "captured", attempts: 1 });
    expect(await inboxHas(inbox.eventId)).toBe(true);
    expect(await outboxEvents(orderId)).toEqual([
      expect.objectContaining({ type: PaymentCapturedSchema.typeName, paymentId: charged.paymentId }),
    ]);
  });
});

describe("charges in flight together", () => {
  test("share their statements, and each records its own payment, event and inbox row", async () => {
    const deps = payment.depsOn(pool);
    const charges = Array.from({ length: 12 }, () => ({ orderId: randomUUID(), inbox: inboxOf() }));
    statements.length = 0;
    const charged = await Promise.all(
      charges.map(({ orderId, inbox }) => chargePayment(deps, { orderId, amount: usd, token: "tok_visa" }, inbox)),
    );

    // One statement for the first charge's start, one for the starts that queued behind
    // it, and likewise for the records: far fewer than two per charge.
    expect(statements.length).toBeLessThanOrEqual(6);
    expect(new Set(charged.map((payment) => payment.paymentId)).size).toBe(12);
    for (const [index, { orderId, inbox }] of charges.entries()) {
      expect(charged[index]).toMatchObject({ orderId, status: "captured", attempts: 1 });
      expect(await inboxHas(inbox.eventId)).toBe(true);
      expect(await outboxEvents(orderId)).toEqual([
        expect.objectContaining({ type: PaymentCapturedSchema.typeName, paymentId: charged[index]?.paymentId }),
      ]);
    }
  });

  test("of the same order (a redelivery beside the Charge RPC) record one payment and answer it to both", async () => {
    const deps = payment.depsOn(pool);
    const orderId = randomUUID();
    const request = { orderId, amount: usd, token: "tok_visa" };
    const [first, second, third] = await Promise.all([
      chargePayment(deps, request, inboxOf()),
      chargePayment(deps, request, inboxOf()),
      chargePayment(deps, request),
    ]);

    expect(second?.paymentId).toBe(first?.paymentId);
    expect(third?.paymentId).toBe(first?.paymentId);
    expect(await outboxEvents(orderId)).toHaveLength(1);
  });
});

describe("recording an outcome in one statement", () => {
  test("writes the payment, its event and the inbox row together", async () => {
    const orderId = randomUUID();
    const inbox = inboxOf();
    const declined = outcomeOf(orderId, { outcome: "declined", reason: "card declined" });
    const recorded = await record(declined, inbox);

    expect(recorded).toMatchObject({
      status: "declined",
      paymentId: declined.paymentId,
      declineReason: "card declined",
    });
    expect(await inboxHas(inbox.eventId)).toBe(true);
    expect(await outboxEvents(orderId)).toEqual([
      expect.objectContaining({ type: PaymentDeclinedSchema.typeName, paymentId: declined.paymentId }),
    ]);
  });

  test("is idempotent under a replay: the same event, or another one for the order, writes nothing more", async () => {
    const orderId = randomUUID();
    const inbox = inboxOf();
    const first = outcomeOf(orderId);
    expect((await record(first, inbox))?.paymentId).toBe(first.paymentId);

    expect(await record(outcomeOf(orderId), inbox)).toBeUndefined();
    const other = inboxOf();
    expect(await record(outcomeOf(orderId), other)).toBeUndefined();

    expect((await payment.row(orderId))?.payment_id).toBe(first.paymentId);
    expect(await outboxEvents(orderId)).toHaveLength(1);
    expect(await inboxHas(other.eventId)).toBe(false);
  });

  test("an event already in the inbox records nothing", async () => {
    const orderId = randomUUID();
    const inbox = inboxOf();
    await pool.query("INSERT INTO inbox (consumer, event_id) VALUES ($1, $2)", [inbox.consumer, inbox.eventId]);
    expect(await record(outcomeOf(orderId), inbox)).toBeUndefined();
    expect(await payment.row(orderId)).toBeUndefined();
    expect(await outboxEvents(orderId)).toEqual([]);
  });

  test("two deliveries recording at once: exactly one payment, one event and one inbox row", async () => {
    const orderId = randomUUID();
    const inboxes = [inboxOf(), inboxOf()];
    const results = await Promise.all(inboxes.map((inbox) => record(outcomeOf(orderId), inbox)));

    const winners = results.filter((result) => result !== undefined);
    expect(winners).toHaveLength(1);
    expect(await outboxEvents(orderId)).toHaveLength(1);
    expect((await Promise.all(inboxes.map((inbox) => inboxHas(inbox.eventId)))).filter(Boolean)).toHaveLength(1);
  });

  test("without an inbox entry (the Charge RPC) it writes no inbox row", async () => {
    const before = await pool.query("SELECT count(*)::int AS n FROM inbox");
    const orderId = randomUUID();
    expect(await record(outcomeOf(orderId))).toMatchObject({ status: "captured" });
    const after = await pool.query("SELECT count(*)::int AS n FROM inbox");
    expect(after.rows[0].n).toBe(before.rows[0].n);
    expect(await outboxEvents(orderId)).toHaveLength(1);
  });
});

describe("against a voided tombstone", () => {
  test("a capture loses to the tombstone and writes nothing — not even the inbox row — until refunded", async () => {
    const orderId = randomUUID();
    await insertVoided(pool, orderId);
    const inbox = inboxOf();
    const charge = outcomeOf(orderId);

    expect(await record(charge, inbox)).toBeUndefined();
    expect((await payment.row(orderId))?.status).toBe("voided");
    expect(await inboxHas(inbox.eventId)).toBe(false);
    expect(await outboxEvents(orderId)).toEqual([]);

    const refund = {
      paymentId: randomUUID(),
      orderId,
      amount: usd,
      providerReference: "ch_test",
      refundReference: "re_test",
      refundReason: "captured after its order was cancelled",
      attempts: 1,
    };
    const event = refundEvent(payment.outbox, refund, refund.refundReason);
    const refunded = await refundVoided(pool, payment.outbox, refund, event, inbox);
    expect(refunded).toMatchObject({
      status: "refunded",
      paymentId: refund.paymentId,
      attempts: 1,
      refundReason: refund.refundReason,
    });
    expect(
      await refundVoided(pool, payment.outbox, { ...refund, paymentId: randomUUID() }, event, inbox),
    ).toBeUndefined();

    expect(await payment.row(orderId)).toMatchObject({ payment_id: refund.paymentId, status: "refunded" });
    expect(await inboxHas(inbox.eventId)).toBe(true);
    expect(await outboxEvents(orderId)).toEqual([
      expect.objectContaining({ type: PaymentRefundedSchema.typeName, paymentId: refund.paymentId }),
    ]);
  });

  test("a tombstone loses to a recorded charge and writes nothing, inbox included", async () => {
    const orderId = randomUUID();
    await record(outcomeOf(orderId));
    const inbox = inboxOf();
    expect(await insertVoided(pool, orderId, inbox)).toBeUndefined();
    expect((await payment.row(orderId))?.status).toBe("captured");
    expect(await inboxHas(inbox.eventId)).toBe(false);
  });
});

describe("refunding a captured payment in one statement", () => {
  test("marks it refunded with its event and inbox row once; a replay writes nothing more", async () => {
    const orderId = randomUUID();
    const charge = outcomeOf(orderId);
    const recorded = await record(charge);
    if (recorded?.status !== "captured") throw new Error("expected a captured payment");
    const inbox = inboxOf();
    const reason = "chargeback ticket 42";
    const event = refundEvent(payment.outbox, recorded, reason);
    const refund = { reference: "re_test", reason };

    expect(await markRefunded(pool, payment.outbox, orderId, refund, event, inbox)).toMatchObject({
      status: "refunded",
      refundReason: reason,
    });
    expect(
      await markRefunded(pool, payment.outbox, orderId, refund, refundEvent(payment.outbox, recorded, reason), inbox),
    ).toBeUndefined();

    expect(await inboxHas(inbox.eventId)).toBe(true);
    expect((await outboxEvents(orderId)).map((e) => e.type)).toEqual([
      PaymentCapturedSchema.typeName,
      PaymentRefundedSchema.typeName,
    ]);
  });
});

describe("a charge's statements on grown tables", () => {
  test("look up only their own rows, with plans made while the tables were nearly empty", async () => {
    // What a service connection meets where nothing has analyzed the tables yet (a new
    // database, or autovacuum off): the plan of each named statement was made when the
    // tables held a few rows, and is kept as they grow.
    const servicePool = createPool({ url: payment.databaseUrl, applicationName: "payment test", onError: () => {} });
    const client = await servicePool.connect();
    const charges = () => [outcomeOf(randomUUID()), outcomeOf(randomUUID())];
    const recordBoth = (outcomes: NewOutcome[]) =>
      recordOutcomes(
        client,
        payment.outbox,
        outcomes.map((outcome) => ({ outcome, event: outcomeEvent(payment.outbox, outcome), inbox: inboxOf() })),
      );
    try {
      await client.query("SET plan_cache_mode = force_generic_plan");
      await recordBoth(charges());
      await beginCharges(client, [randomUUID(), randomUUID()]);

      await client.query("BEGIN");
      await client.query(
        `INSERT INTO inbox (consumer, event_id) SELECT 'payment', gen_random_uuid() FROM generate_series(1, 20000);
         INSERT INTO payments (order_id, status) SELECT gen_random_uuid(), 'voided' FROM generate_series(1, 20000)`,
      );
      const rowsRead = async () => {
        const { rows } = await client.query<{ read: string }>(
          `SELECT sum(pg_stat_get_xact_tuples_returned(oid) + pg_stat_get_xact_tuples_fetched(oid)) AS read
             FROM pg_class WHERE relname IN ('inbox', 'inbox_pkey', 'payments', 'payments_pkey')`,
        );
        return Number(rows[0]?.read);
      };
      const before = await rowsRead();
      const outcomes = charges();
      const orderIds = outcomes.map((outcome) => outcome.orderId);
      expect(await beginCharges(client, orderIds)).toHaveLength(2);
      expect((await recordBoth(outcomes)).map((recorded) => recorded?.status)).toEqual(["captured", "captured"]);
      // A scan would read the 40,000 rows; lookups read what they find (here: nothing).
      expect(await rowsRead()).toBeLessThan(before + 50);
    } finally {
      await client.query("ROLLBACK");
      client.release();
      await servicePool.end();
    }
  });
});
