import {
  type Outbox,
  type OutboxRow,
  type OutboxWritten,
  outboxInsertManyGuardedSql,
  outboxInsertSql,
  outboxManyParams,
  outboxParams,
  outboxWrittenSql,
} from "@shopmesh/events";
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
  refund_reason: string | null;
  decline_reason: string | null;
  attempts: number;
  created_at: Date;
  updated_at: Date;
}

/**
 * The columns of payments every statement answers, named: a statement that said `*`
 * would fail on each connection that prepared it once a migration adds a column
 * ("cached plan must not change result type") — on every replica still serving
 * while a rolling update runs.
 */
const paymentColumns = [
  "order_id",
  "payment_id",
  "status",
  "amount_minor",
  "currency",
  "provider_reference",
  "refund_reference",
  "decline_reason",
  "attempts",
  "created_at",
  "updated_at",
];
const columnsOf = (table: string) => paymentColumns.map((column) => `${table}.${column}`).join(", ");
const returningPayment = `RETURNING ${paymentColumns.join(", ")}`;

/** The payment of an order, if any. */
export async function findPayment(db: Db, orderId: string): Promise<Payment | undefined> {
  const { rows } = await db.query<PaymentRow>({
    name: "payment-find",
    text: `SELECT ${columnsOf("p")}, r.reason AS refund_reason
             FROM payments p LEFT JOIN refund_reasons r USING (order_id) WHERE p.order_id = $1`,
    values: [orderId],
  });
  return rows[0] && rowToPayment(rows[0]);
}

/** How many provider calls were recorded as about to be made for an order (0: none). */
export async function chargeAttempts(db: Db, orderId: string): Promise<number> {
  const { rows } = await db.query<{ attempts: number }>({
    name: "payment-charge-attempts",
    text: "SELECT attempts FROM charge_attempts WHERE order_id = $1",
    values: [orderId],
  });
  return rows[0]?.attempts ?? 0;
}

/**
 * Reads the payment of each order and, for those that have none yet, records the
 * provider call about to be made — one statement for all, so the happy path costs one
 * round trip however many charges start together. The record is written before the
 * call so that a crash after it leaves a trace. The orders must all be different (a
 * statement changes a row once); the states come back in their order.
 */
export async function beginCharges(db: Db, orderIds: readonly string[]): Promise<ChargeState[]> {
  const { rows } = await db.query<Partial<PaymentRow> & { input_order_id: string; attempts_made: number }>({
    name: "payment-begin-charges",
    text: `WITH input AS (
       SELECT unnest($1::uuid[]) AS order_id
     ), current AS (
       SELECT ${columnsOf("p")}, r.reason AS refund_reason
         FROM payments p JOIN input USING (order_id) LEFT JOIN refund_reasons r USING (order_id)
     ), attempt AS (
       INSERT INTO charge_attempts AS a (order_id, attempts)
       SELECT order_id, 1 FROM input WHERE order_id NOT IN (SELECT order_id FROM current)
        ORDER BY order_id
       ON CONFLICT (order_id) DO UPDATE SET attempts = a.attempts + 1, updated_at = now()
       RETURNING order_id, attempts
     )
     SELECT input.order_id AS input_order_id, current.*,
            coalesce(attempt.attempts,
                     (SELECT attempts FROM charge_attempts c WHERE c.order_id = input.order_id), 0) AS attempts_made
       FROM input LEFT JOIN current ON current.order_id = input.order_id
                  LEFT JOIN attempt ON attempt.order_id = input.order_id`,
    values: [orderIds],
  });
  const byOrder = new Map(rows.map((row) => [row.input_order_id, row]));
  return orderIds.map((orderId) => {
    const row = byOrder.get(orderId);
    if (row === undefined) throw new Error(`beginCharges returned no row for ${orderId}`);
    return {
      payment: row.order_id === null || row.order_id === undefined ? undefined : rowToPayment(row as PaymentRow),
      attemptsMade: row.attempts_made,
    };
  });
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

/** An outcome to record with the event announcing it and the consumer's inbox row (none for an RPC). */
export interface OutcomeRecord {
  readonly outcome: NewOutcome;
  readonly event: OutboxRow;
  readonly inbox?: InboxEntry;
}

/**
 * Records the outcomes of several charges (of different orders), each with its event
 * and inbox row, in one statement — the payment, event and inbox row of one order
 * commit together, and only where its payment row was written: an order that already
 * has one, or an event already applied, gets undefined and writes nothing.
 */
export async function recordOutcomes(
  db: Db,
  outbox: Outbox,
  records: readonly OutcomeRecord[],
): Promise<(Payment | undefined)[]> {
  const column = <T>(value: (record: OutcomeRecord) => T) => records.map(value);
  const events = records.map((record) => record.event);
  const recorded = db.query<PaymentRow & OutboxWritten>({
    name: "payment-record-outcomes",
    text: `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::bigint[], $7::text[],
                            $8::text[], $9::text[], $10::int[])
         AS i(consumer, event_id, payment_id, order_id, status, amount_minor, currency, provider_reference,
              decline_reason, attempts)
     ), changed AS (
       INSERT INTO payments
         (payment_id, order_id, status, amount_minor, currency, provider_reference, decline_reason, attempts)
       SELECT payment_id, order_id, status, amount_minor, currency, provider_reference, decline_reason, attempts
         FROM input i
              -- one index probe per input row (LIMIT keeps the planner from turning the
              -- check into a join that reads the whole inbox)
              LEFT JOIN LATERAL (SELECT true AS applied FROM inbox
                                  WHERE inbox.consumer = i.consumer AND inbox.event_id = i.event_id LIMIT 1) seen
                ON true
        WHERE i.consumer IS NULL OR seen.applied IS NULL
        ORDER BY order_id
       ON CONFLICT (order_id) DO NOTHING
       ${returningPayment}
     ), applied AS (
       INSERT INTO inbox (consumer, event_id)
       SELECT i.consumer, i.event_id FROM changed JOIN input i ON i.order_id = changed.order_id
        WHERE i.consumer IS NOT NULL
       ON CONFLICT DO NOTHING
     ), announced AS (
       ${outboxInsertManyGuardedSql(11, { keys: "$4::uuid[]", cte: "changed", column: "order_id" })}
     )
     SELECT changed.*, ${outboxWrittenSql("announced")} FROM changed`,
    values: [
      column((record) => record.inbox?.consumer ?? null),
      column((record) => record.inbox?.eventId ?? null),
      column((record) => record.outcome.paymentId),
      column((record) => record.outcome.orderId),
      column((record) => record.outcome.outcome.outcome),
      column((record) => record.outcome.amount.amountMinor.toString()),
      column((record) => record.outcome.amount.currency),
      column(({ outcome: { outcome } }) => (outcome.outcome === "captured" ? outcome.reference : null)),
      column(({ outcome: { outcome } }) => (outcome.outcome === "declined" ? outcome.reason : null)),
      column((record) => record.outcome.attempts),
      ...outboxManyParams(events),
    ],
  });
  outbox.written(db, events, recorded);
  const { rows } = await recorded;
  const byOrder = new Map(rows.map((row) => [row.order_id, rowToPayment(row)]));
  return records.map((record) => byOrder.get(record.outcome.orderId));
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
            ${returningPayment}`,
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
  outbox: Outbox,
  orderId: string,
  refund: { readonly reference: string; readonly reason: string },
  event: OutboxRow,
  inbox?: InboxEntry,
): Promise<Payment | undefined> {
  return recordChange(
    db,
    {
      name: "payment-mark-refunded",
      sql: `UPDATE payments SET status = 'refunded', refund_reference = $4, updated_at = now()
             WHERE order_id = $3 AND status = 'captured' AND ${notYetApplied}
            ${returningPayment}`,
      values: [orderId, refund.reference],
      refundReason: refund.reason,
    },
    inbox,
    { outbox, event },
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
  readonly refundReason: string;
  readonly attempts: number;
}

/**
 * Turns a tombstone into the refunded payment it turned out to be, with its event and
 * the inbox row; undefined when not voided or the event was already applied.
 */
export async function refundVoided(
  db: Db,
  outbox: Outbox,
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
            ${returningPayment}`,
      values: [
        charge.orderId,
        charge.paymentId,
        charge.amount.amountMinor.toString(),
        charge.amount.currency,
        charge.providerReference,
        charge.refundReference,
        charge.attempts,
      ],
      refundReason: charge.refundReason,
    },
    inbox,
    { outbox, event },
  );
}

/** True unless the consumer ($1) already applied the event ($2); always true without one. */
const notYetApplied = "NOT EXISTS (SELECT FROM inbox WHERE consumer = $1::text AND event_id = $2::uuid)";

/**
 * Runs a change — a statement on payments guarded by {@link notYetApplied}, with its
 * own values from $3 on, ending in {@link returningPayment} — as one autocommit
 * statement with what must commit with it: the inbox row, the refund's reason (in
 * refund_reasons) and the outbox row of `event`, all written only when the change
 * returned a row (the outbox row then goes to this process's relay). The inbox
 * row follows the change rather than guarding it, so a change that does not happen
 * (a charge that lost to a tombstone) leaves the event to be applied again.
 */
async function recordChange(
  db: Db,
  { name, sql, values, refundReason }: Change,
  inbox: InboxEntry | undefined,
  announcement?: { readonly outbox: Outbox; readonly event: OutboxRow },
): Promise<Payment | undefined> {
  const own = [...values, ...(refundReason === undefined ? [] : [refundReason])];
  const reasonParam = `$${2 + own.length}::text`;
  const noted =
    refundReason === undefined
      ? ""
      : `, noted AS (
       INSERT INTO refund_reasons (order_id, reason) SELECT order_id, ${reasonParam} FROM changed
       ON CONFLICT (order_id) DO NOTHING
     )`;
  const answered = refundReason === undefined ? "changed.*" : `changed.*, ${reasonParam} AS refund_reason`;
  const announce = announcement
    ? `, announced AS (${outboxInsertSql(3 + own.length, "changed")})
     SELECT ${answered}, ${outboxWrittenSql("announced")} FROM changed`
    : ` SELECT ${answered} FROM changed`;
  const changed = db.query<PaymentRow & Partial<OutboxWritten>>({
    name: announcement ? `${name}-announced` : name,
    text: `WITH changed AS (${sql}
     ), applied AS (
       INSERT INTO inbox (consumer, event_id)
       SELECT $1::text, $2::uuid FROM changed WHERE $1::text IS NOT NULL
       ON CONFLICT DO NOTHING
     )${noted}${announce}`,
    values: [
      inbox?.consumer ?? null,
      inbox?.eventId ?? null,
      ...own,
      ...(announcement ? outboxParams(announcement.event) : []),
    ],
  });
  if (announcement) {
    announcement.outbox.written(db, [announcement.event], changed);
  }
  const { rows } = await changed;
  return rows[0] && rowToPayment(rows[0]);
}

/** A statement on payments for {@link recordChange}; its name identifies the prepared statement. */
interface Change {
  readonly name: string;
  readonly sql: string;
  readonly values: readonly unknown[];
  /** The reason of a refund the change records. */
  readonly refundReason?: string;
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
        refundReason: row.refund_reason ?? "",
      };
  }
}
