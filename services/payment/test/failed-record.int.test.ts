import { randomUUID } from "node:crypto";
import { isDatabaseUnavailable } from "@shopmesh/pg";
import { createTestPool } from "@shopmesh/testing";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { chargePayment } from "../src/charge-payment.js";
import type { InboxEntry } from "../src/payment-store.js";
import { usePaymentService } from "./harness.js";

const payment = usePaymentService("payment failed record");

let pool: pg.Pool;

beforeAll(async () => {
  pool = createTestPool({ connectionString: payment.databaseUrl, max: 4 });
  // The connection that records an outcome of a marked order is ended mid-statement, once
  // per mark: the statement is rolled back, and its client sees the database unavailable.
  await payment.sql(`
    CREATE TABLE test_lose_connection (order_id uuid PRIMARY KEY);
    CREATE SEQUENCE test_lose_connection_budget;
    CREATE FUNCTION test_lose_connection() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT FROM test_lose_connection WHERE order_id = NEW.order_id)
         AND nextval('test_lose_connection_budget') = 1 THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
        -- Not a wait: the backend ends at its next interrupt check, which the sleep makes
        -- at once, so the statement cannot finish (and commit) before the termination.
        PERFORM pg_sleep(5);
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER test_lose_connection BEFORE INSERT ON payments
      FOR EACH ROW EXECUTE FUNCTION test_lose_connection();`);
});
afterAll(async () => {
  await payment.sql(`DROP TRIGGER test_lose_connection ON payments;
    DROP FUNCTION test_lose_connection(); DROP SEQUENCE test_lose_connection_budget; DROP TABLE test_lose_connection`);
  await pool.end();
});

const usd = { amountMinor: 1999n, currency: "USD" };

async function count(sql: string, values: unknown[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, values);
  return rows[0]?.n ?? 0;
}

describe("a shared record statement whose connection is lost mid-statement", () => {
  test("fails every charge of its group; their retries replay the provider's outcome and record each once", async () => {
    const deps = payment.depsOn(pool);
    const charges = Array.from({ length: 6 }, (_, index) => ({
      orderId: randomUUID(),
      token: index % 2 === 0 ? "tok_visa" : "tok_declined",
      inbox: { consumer: "payment", eventId: randomUUID() } satisfies InboxEntry,
    }));
    // The charges after the first share one record statement (the first runs alone): the
    // last one's row loses the connection, and with it the others' rows.
    await payment.sql("INSERT INTO test_lose_connection VALUES ($1)", [charges.at(-1)?.orderId]);
    const charge = ({ orderId, token, inbox }: (typeof charges)[number]) =>
      chargePayment(deps, { orderId, amount: usd, token }, inbox);

    const first = await Promise.allSettled(charges.map(charge));
    const failed = charges.filter((_, index) => first[index]?.status === "rejected");
    expect(failed.length).toBeGreaterThan(1);
    for (const result of first) {
      if (result.status === "rejected") expect(isDatabaseUnavailable(result.reason)).toBe(true);
    }
    for (const { orderId } of failed) expect(await payment.row(orderId)).toBeUndefined();

    // What the consumer does: each failed event comes back, with the same event id.
    const retried = await Promise.all(failed.map(charge));
    for (const [index, { orderId, token, inbox }] of failed.entries()) {
      const outcome = token === "tok_visa" ? "captured" : "declined";
      expect(retried[index]).toMatchObject({ orderId, status: outcome, attempts: 2 });
      expect(payment.simulator.chargeOf(orderId)).toMatchObject({ calls: 2, outcome: { outcome } });
      expect(await count("inbox WHERE consumer = $1 AND event_id = $2", [inbox.consumer, inbox.eventId])).toBe(1);
      expect(await count("outbox WHERE headers->>'Shopmesh-Key' = $1", [orderId])).toBe(1);
    }
    expect(payment.simulator.counts().captures).toBe(charges.filter((c) => c.token === "tok_visa").length);

    // A further copy of any event (or of the first charge's) records and announces nothing more.
    for (const each of charges) {
      await charge(each);
      expect(await count("outbox WHERE headers->>'Shopmesh-Key' = $1", [each.orderId])).toBe(1);
    }
  });
});
