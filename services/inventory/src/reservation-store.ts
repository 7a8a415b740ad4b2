import type { Queryable } from "./product-store.js";
import type { Movement, ReservationStatus, Shortage, StockItem } from "./stock.js";

/** A reservation as stored. */
export interface StoredReservation {
  readonly status: ReservationStatus;
  /** The digest of the items asked for; undefined for a tombstone. */
  readonly requestDigest: string | undefined;
  /** Why it was rejected; empty otherwise. */
  readonly shortages: readonly Shortage[];
}

interface ReservationRow {
  status: ReservationStatus;
  request_digest: string | null;
  shortages: { sku: string; requested: number; available: string }[] | null;
}

function rowToReservation(row: ReservationRow): StoredReservation {
  return {
    status: row.status,
    requestDigest: row.request_digest ?? undefined,
    shortages: (row.shortages ?? []).map((s) => ({
      sku: s.sku,
      requested: s.requested,
      available: BigInt(s.available),
    })),
  };
}

/**
 * Creates the order's reservation (status `reserved` until `reserveItems` decides),
 * or answers false when the order already has one. The new row's key is locked until
 * commit, so any other transaction on the same order waits for this one.
 */
export async function claimReservation(tx: Queryable, orderId: string, requestDigest: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO reservations (order_id, status, request_digest) VALUES ($1, 'reserved', $2)
     ON CONFLICT (order_id) DO NOTHING`,
    [orderId, requestDigest],
  );
  return rowCount === 1;
}

/** Records a released reservation without items (a tombstone); false when the order has one meanwhile. */
export async function insertTombstone(tx: Queryable, orderId: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    "INSERT INTO reservations (order_id, status) VALUES ($1, 'released') ON CONFLICT (order_id) DO NOTHING",
    [orderId],
  );
  return rowCount === 1;
}

/** The order's reservation, locked until commit when `lock` is set; undefined when there is none. */
export async function findReservation(
  tx: Queryable,
  orderId: string,
  { lock = false } = {},
): Promise<StoredReservation | undefined> {
  const { rows } = await tx.query<ReservationRow>(
    `SELECT status, request_digest, shortages FROM reservations WHERE order_id = $1${lock ? " FOR UPDATE" : ""}`,
    [orderId],
  );
  return rows[0] && rowToReservation(rows[0]);
}

/**
 * Reserves all of `items` for a claimed reservation, or nothing — in one statement.
 * It locks the product rows in SKU order (no deadlocks between orders sharing SKUs),
 * checks every item against the locked `available`, and only if all suffice moves
 * them to `reserved` and records the items; otherwise it marks the reservation
 * rejected with the shortages (an unknown SKU has 0 available). The CHECK
 * constraints on the stock columns are the backstop.
 */
export async function reserveItems(
  tx: Queryable,
  orderId: string,
  items: readonly StockItem[],
): Promise<{ reserved: boolean; shortages: Shortage[] }> {
  const { rows } = await tx.query<{ sku: string; quantity: number; available: string; enough: boolean }>(
    `WITH request AS (
       SELECT sku COLLATE "C" AS sku, quantity FROM unnest($2::text[], $3::int[]) AS r (sku, quantity)
     ),
     locked AS (
       SELECT sku, available FROM products WHERE sku = ANY ($2::text[]) ORDER BY sku FOR UPDATE
     ),
     checked AS (
       SELECT r.sku, r.quantity, coalesce(l.available, 0) AS available,
              coalesce(l.available >= r.quantity, false) AS enough
         FROM request r LEFT JOIN locked l ON l.sku = r.sku
     ),
     verdict AS (
       SELECT bool_and(enough) AS ok FROM checked
     ),
     taken AS (
       UPDATE products p
          SET available = p.available - c.quantity, reserved = p.reserved + c.quantity, updated_at = now()
         FROM checked c
        WHERE p.sku = c.sku AND (SELECT ok FROM verdict)
     ),
     held AS (
       INSERT INTO reservation_items (order_id, sku, quantity)
       SELECT $1, sku, quantity FROM checked WHERE (SELECT ok FROM verdict)
     ),
     refused AS (
       UPDATE reservations
          SET status = 'rejected', updated_at = now(),
              shortages = (SELECT jsonb_agg(jsonb_build_object('sku', sku, 'requested', quantity,
                                                               'available', available::text) ORDER BY sku)
                             FROM checked WHERE NOT enough)
        WHERE order_id = $1 AND NOT (SELECT ok FROM verdict)
     )
     SELECT sku, quantity, available, enough FROM checked ORDER BY sku`,
    [orderId, items.map((item) => item.sku), items.map((item) => item.quantity)],
  );
  const shortages = rows
    .filter((row) => !row.enough)
    .map((row) => ({ sku: row.sku, requested: row.quantity, available: BigInt(row.available) }));
  return { reserved: shortages.length === 0, shortages };
}

/**
 * Moves every item of the order's (locked) reservation between the stock buckets by
 * `movement` and sets the reservation's status, in one statement; product rows are
 * locked in SKU order first. Answers the items moved.
 */
export async function moveItems(
  tx: Queryable,
  orderId: string,
  movement: Movement,
  status: ReservationStatus,
): Promise<StockItem[]> {
  const { rows } = await tx.query<StockItem>(
    `WITH locked AS (
       SELECT p.sku, i.quantity
         FROM products p JOIN reservation_items i ON i.sku = p.sku
        WHERE i.order_id = $1
        ORDER BY p.sku
          FOR UPDATE OF p
     ),
     moved AS (
       UPDATE products p
          SET available = p.available + $2::int * l.quantity,
              reserved = p.reserved + $3::int * l.quantity,
              sold = p.sold + $4::int * l.quantity,
              updated_at = now()
         FROM locked l
        WHERE p.sku = l.sku
     ),
     marked AS (
       UPDATE reservations SET status = $5, updated_at = now() WHERE order_id = $1
     )
     SELECT sku, quantity FROM locked ORDER BY sku`,
    [orderId, movement.available, movement.reserved, movement.sold, status],
  );
  return rows;
}
