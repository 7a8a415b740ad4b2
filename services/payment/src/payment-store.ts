import type pg from "pg";
import type { ChargeState, Money, Payment } from "./payment.js";
import type { ChargeOutcome } from "./payment-provider.js";

/** A pool or a client inside a transaction. */
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
  const { rows } = await db.query<PaymentRow>("SELECT * FROM payments WHERE order_id = $1", [orderId]);
  return rows[0] && rowToPayment(rows[0]);
}

/**
 * Reads an order's payment and, when there is none yet, records the provider call
 * about to be made — in one statement, so the happy path costs one round trip. The
 * record is written before the call so that a crash after it leaves a trace.
 */
export async function beginCharge(db: Db, orderId: string): Promise<ChargeState> {
  const { rows } = await db.query<Partial<PaymentRow> & { attempts_made: number }>(
    `WITH current AS (
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
    [orderId],
  );
  const row = rows[0];
  if (row === undefined) throw new Error("beginCharge returned no row");
  return {
    payment: row.order_id === null || row.order_id === undefined ? undefined : rowToPayment(row as PaymentRow),
    attemptsMade: row.attempts_made,
  };
}

/** The outcome of a charge to record. */
export interface NewOutcome {
  readonly orderId: string;
  readonly amount: Money;
  readonly outcome: ChargeOutcome;
  readonly attempts: number;
}

/** Records a charge's outcome; undefined when the order already has a payment row. */
export async function insertOutcome(db: Db, outcome: NewOutcome): Promise<Payment | undefined> {
  const captured = outcome.outcome.outcome === "captured";
  const { rows } = await db.query<PaymentRow>(
    `INSERT INTO payments (order_id, status, amount_minor, currency, provider_reference, decline_reason, attempts)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (order_id) DO NOTHING
     RETURNING *`,
    [
      outcome.orderId,
      outcome.outcome.outcome,
      outcome.amount.amountMinor.toString(),
      outcome.amount.currency,
      captured ? outcome.outcome.reference : null,
      captured ? null : outcome.outcome.reason,
      outcome.attempts,
    ],
  );
  return rows[0] && rowToPayment(rows[0]);
}

/** Writes the tombstone of an order cancelled before any charge; undefined when it has a payment row. */
export async function insertVoided(db: Db, orderId: string): Promise<Payment | undefined> {
  const { rows } = await db.query<PaymentRow>(
    `INSERT INTO payments (order_id, status) VALUES ($1, 'voided')
     ON CONFLICT (order_id) DO NOTHING
     RETURNING *`,
    [orderId],
  );
  return rows[0] && rowToPayment(rows[0]);
}

/** Marks a captured payment refunded; undefined when it is not captured (any more). */
export async function markRefunded(db: Db, orderId: string, refundReference: string): Promise<Payment | undefined> {
  const { rows } = await db.query<PaymentRow>(
    `UPDATE payments SET status = 'refunded', refund_reference = $2, updated_at = now()
      WHERE order_id = $1 AND status = 'captured'
     RETURNING *`,
    [orderId, refundReference],
  );
  return rows[0] && rowToPayment(rows[0]);
}

/** A charge that captured after its order was voided, and its refund. */
export interface RefundedCharge {
  readonly orderId: string;
  readonly amount: Money;
  readonly providerReference: string;
  readonly refundReference: string;
  readonly attempts: number;
}

/** Turns a tombstone into the refunded payment it turned out to be; undefined when not voided. */
export async function refundVoided(db: Db, charge: RefundedCharge): Promise<Payment | undefined> {
  const { rows } = await db.query<PaymentRow>(
    `UPDATE payments
        SET status = 'refunded', amount_minor = $2, currency = $3, provider_reference = $4,
            refund_reference = $5, attempts = $6, updated_at = now()
      WHERE order_id = $1 AND status = 'voided'
     RETURNING *`,
    [
      charge.orderId,
      charge.amount.amountMinor.toString(),
      charge.amount.currency,
      charge.providerReference,
      charge.refundReference,
      charge.attempts,
    ],
  );
  return rows[0] && rowToPayment(rows[0]);
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
