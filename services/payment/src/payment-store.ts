import { type OutboxRow, outboxInsertSql, outboxParams } from "@shopmesh/events";
import type pg from "pg";
import type { ChargeState, Money, Payment } from "./payment.js";
import type { ChargeOutcome } from "./payment-provider.js";

/**
 * A pool or a client inside a transaction. Every statement of this module is named,
 * so each connection parses and plans it once: for statements this short, parsing and
 * planning were about half of the payment service's PostgreSQL CPU per StockReserved.
 */
export type Db = pg.Pool | pg.PoolClient;

interface PaymentRow {
  order_id: string;
  payment_id: string;
  status: Payment["status"];
  amount_minor: string | null;
  currency: string | null;
  provider_reference: string | null;
  refund_reference: string | null;
  decline_reason: string | null;
  attempts: number;
  created_at: Date;
  updated_at: Date;
}

/** The payment of an order, if any. */
export async function findPayment(db: Db, orderId: string): Promise<Payment | undefined> {
  const { rows } = await db.query<PaymentRow>({
    name: "payment-find",
    text: "SELECT * FROM payments WHERE order_id = $1",
    values: [orderId],
  });
  return rows[0] && rowToPayment(rows[0]);
}

/**
 * Reads an order's payment and, when there is none yet, records the provider call
 * about to be made — in one statement, so the happy path costs one round trip. The
 * record is written before the call so that a crash after it leaves a trace.
 */
export async function beginCharge(db: Db, orderId: string): Promise<ChargeState> {
  const { rows } = await db.query<Partial<PaymentRow> & { attempts_made: number }>({
    name: "payment-begin-charge",
    text: `WITH current AS (
       SELECT * FROM payments WHERE order_id = $1
     ), attempt AS (
       INSERT INTO charge_attempts AS a (order_id, attempts)
       SELECT $1, 1 WHERE NOT EXISTS (SELECT FROM current)
       ON CONFLICT (order_id) DO UPDATE SET attempts = a.attempts + 1, updated_at = now()
       RETURNING attempts
     )
     SELECT current.*,
            coalesce((SELECT attempts FROM attempt),
                     (SELECT attempts FROM charge_attempts WHERE order_id = $1), 0) AS attempts_made
       FROM (SELECT) AS one LEFT JOIN current ON true`,
    values: [orderId],
  });
  const row = rows[0];
  if (row === undefined) throw new Error("beginCharge returned no row");
  return {
    payment: row.order_id === null || row.order_id === undefined ? undefined : rowToPayment(row as PaymentRow),
    attemptsMade: row.attempts_made,
  };
}

/**
 * The inbox row of the event a consumer applies (the `inbox` table of
 * @shopmesh/events). The recording statements below write it together with the
 * event's effect, and change nothing when it is already there; RPCs pass none.
 */
export interface InboxEntry {
  readonly consumer: string;
  readonly eventId: string;
}

/** The outcome of a charge to record, under the payment id its event announces. */
export interface NewOutcome {
  readonly paymentId: string;
  readonly orderId: string;
  readonly amount: Money;
  readonly outcome: ChargeOutcome;
  readonly attempts: number;
}

/**
 * Records a charge's outcome with its event and the inbox row, in one statement;
 * undefined when the order already has a payment row (another delivery, the RPC, or
 * a tombstone) or the event was already applied.
 */
export async function recordOutcome(
  db: Db,
  outcome: NewOutcome,
  event: OutboxRow,
  inbox?: InboxEntry,
): Promise<Payment | undefined> {
  const captured = outcome.outcome.outcome === "captured";
  return recordChange(
    db,
    {
      name: "payment-record-outcome",
      sql: `INSERT INTO payments
              (payment_id, order_id, status, amount_minor, currency, provider_reference, decline_reason, attempts)
            SELECT $3::uuid, $4::uuid, $5::text, $6::bigint, $7::text, $8::text, $9::text, $10::int
             WHERE ${notYetApplied}
            ON CONFLICT (order_id) DO NOTHING
            RETURNING *`,
      values: [
        outcome.paymentId,
        outcome.orderId,
        outcome.outcome.outcome,
        outcome.amount.amountMinor.toString(),
        outcome.amount.currency,
        captured ? outcome.outcome.reference : null,
        captured ? null : outcome.outcome.reason,
        outcome.attempts,
      ],
    },
    inbox,
    event,
  );
}

/**
 * Writes the tombstone of an order cancelled before any charge, with the inbox row;
 * undefined when the order has a payment row or the event was already applied.
 */
export async function insertVoided(db: Db, orderId: string, inbox?: InboxEntry): Promise<Payment | undefined> {
  return recordChange(
    db,
    {
      name: "payment-insert-voided",
      sql: `INSERT INTO payments (order_id, status)
            SELECT $3::uuid, 'voided' WHERE ${notYetApplied}
            ON CONFLICT (order_id) DO NOTHING
            RETURNING *`,
      values: [orderId],
    },
    inbox,
  );
}

/**
 * Marks a captured payment refunded, with its event and the inbox row; undefined
 * when it is not captured (any more) or the event was already applied.
 */
export async function markRefunded(
  db: Db,
  orderId: string,
  refundReference: string,
  event: OutboxRow,
  inbox?: InboxEntry,
): Promise<Payment | undefined> {
  return recordChange(
    db,
    {
      name: "payment-mark-refunded",
      sql: `UPDATE payments SET status = 'refunded', refund_reference = $4, updated_at = now()
             WHERE order_id = $3 AND status = 'captured' AND ${notYetApplied}
            RETURNING *`,
      values: [orderId, refundReference],
    },
    inbox,
    event,
  );
}

/**
 * A charge that captured after its order was voided, and its refund. The tombstone
 * was never a payment (nothing announced or answered it), so it takes `paymentId`,
 * the id the PaymentRefunded event announces, when it becomes one.
 */
export interface RefundedCharge {
  readonly paymentId: string;
  readonly orderId: string;
  readonly amount: Money;
  readonly providerReference: string;
  readonly refundReference: string;
  readonly attempts: number;
}

/**
 * Turns a tombstone into the refunded payment it turned out to be, with its event and
 * the inbox row; undefined when not voided or the event was already applied.
 */
export async function refundVoided(
  db: Db,
  charge: RefundedCharge,
  event: OutboxRow,
  inbox?: InboxEntry,
): Promise<Payment | undefined> {
  return recordChange(
    db,
    {
      name: "payment-refund-voided",
      sql: `UPDATE payments
               SET payment_id = $4, status = 'refunded', amount_minor = $5, currency = $6,
                   provider_reference = $7, refund_reference = $8, attempts = $9, updated_at = now()
             WHERE order_id = $3 AND status = 'voided' AND ${notYetApplied}
            RETURNING *`,
      values: [
        charge.orderId,
        charge.paymentId,
        charge.amount.amountMinor.toString(),
        charge.amount.currency,
        charge.providerReference,
        charge.refundReference,
        charge.attempts,
      ],
    },
    inbox,
    event,
  );
}

/** True unless the consumer ($1) already applied the event ($2); always true without one. */
const notYetApplied = "NOT EXISTS (SELECT FROM inbox WHERE consumer = $1::text AND event_id = $2::uuid)";

/**
 * Runs a change — a statement on payments guarded by {@link notYetApplied}, with its
 * own values from $3 on, ending in `RETURNING *` — as one autocommit statement with
 * what must commit with it: the inbox row and the outbox row of `event`, both written
 * only when the change returned a row (NOTIFY then wakes the outbox relays). The inbox
 * row follows the change rather than guarding it, so a change that does not happen
 * (a charge that lost to a tombstone) leaves the event to be applied again.
 */
async function recordChange(
  db: Db,
  { name, sql, values }: Change,
  inbox: InboxEntry | undefined,
  event?: OutboxRow,
): Promise<Payment | undefined> {
  const first = 3 + values.length;
  const announce = event ? `, announced AS (${outboxInsertSql(first, "changed")})` : "";
  const { rows } = await db.query<PaymentRow>({
    name: event ? `${name}-announced` : name,
    text: `WITH changed AS (${sql}
     ), applied AS (
       INSERT INTO inbox (consumer, event_id)
       SELECT $1::text, $2::uuid FROM changed WHERE $1::text IS NOT NULL
       ON CONFLICT DO NOTHING
     )${announce}
     SELECT changed.* FROM changed`,
    values: [inbox?.consumer ?? null, inbox?.eventId ?? null, ...values, ...(event ? outboxParams(event) : [])],
  });
  return rows[0] && rowToPayment(rows[0]);
}

/** A statement on payments for {@link recordChange}; its name identifies the prepared statement. */
interface Change {
  readonly name: string;
  readonly sql: string;
  readonly values: readonly unknown[];
}

function rowToPayment(row: PaymentRow): Payment {
  const base = {
    paymentId: row.payment_id,
    orderId: row.order_id,
    attempts: row.attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  if (row.status === "voided") return { ...base, status: "voided" };
  const amount = { amountMinor: BigInt(row.amount_minor ?? 0), currency: row.currency ?? "" };
  switch (row.status) {
    case "captured":
      return { ...base, status: "captured", amount, providerReference: row.provider_reference ?? "" };
    case "declined":
      return { ...base, status: "declined", amount, declineReason: row.decline_reason ?? "" };
    case "refunded":
      return {
        ...base,
        status: "refunded",
        amount,
        providerReference: row.provider_reference ?? "",
        refundReference: row.refund_reference ?? "",
      };
  }
}
