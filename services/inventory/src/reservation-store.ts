import {
  type Outbox,
  type OutboxRow,
  type OutboxWritten,
  outboxInsertManySql,
  outboxManyParams,
  outboxWrittenSql,
} from "@shopmesh/events";
import { statement } from "@shopmesh/pg";
import type { Queryable } from "./product-store.js";
import type { KnownReservation, Movement, ReservationStatus, Shortage, StockItem } from "./stock.js";

// Every statement here is named: PostgreSQL parses and plans it once per connection.

/**
 * A condition that first takes the transaction-level "stock writer" lock. A batch of
 * saga events takes product locks in several statements (one per run of events of a
 * type), so two batches at once — two replicas, two consumers, an RPC — could lock
 * the same products in opposite orders: deadlocks, and lock timeouts under load.
 * Every transaction that moves stock between buckets takes this lock before its first
 * row lock (an uncorrelated sub-select runs once, before any row is read), so they
 * queue instead; each holds it for one short batch.
 */
const asStockWriter = "(SELECT true FROM pg_advisory_xact_lock(hashtext('inventory.stock-writer')))";

/** A reservation as stored, with what it holds (or held). */
export interface StoredReservation extends KnownReservation {
  readonly items: readonly StockItem[];
}

interface ReservationRow {
  order_id: string;
  status: ReservationStatus;
  announced: boolean;
  request_digest: string | null;
  shortages: { sku: string; requested: number; available: string }[] | null;
  items: StockItem[];
}

function rowToReservation(row: ReservationRow): StoredReservation {
  return {
    status: row.status,
    announced: row.announced,
    requestDigest: row.request_digest ?? undefined,
    shortages: (row.shortages ?? []).map((s) => ({
      sku: s.sku,
      requested: s.requested,
      available: BigInt(s.available),
    })),
    items: row.items,
  };
}

/**
 * The tail of a statement that also writes outbox rows from five array parameters
 * starting at `$first`, answering one row: what it wrote (see {@link Outbox.written}).
 */
function announceSql(first: number): string {
  return `announced AS (${outboxInsertManySql(first)})
     SELECT ${outboxWrittenSql("announced")}`;
}

/** An order's request for a reservation, in canonical form (see normalizeItems). */
export interface ReservationClaim {
  readonly orderId: string;
  readonly requestDigest: string;
  readonly items: readonly StockItem[];
  /** Whether its outcome will be announced (asked for by OrderPlaced, not by an operator's RPC). */
  readonly announced: boolean;
}

/** A statement's answer about orders and products at once: a row names an order, or a SKU and its units. */
interface OrdersAndUnitsRow {
  order_id: string | null;
  sku: string | null;
  units: string | null;
}

function ordersAndUnits(rows: readonly OrdersAndUnitsRow[]): { orders: Set<string>; units: Map<string, bigint> } {
  const orders = new Set<string>();
  const units = new Map<string, bigint>();
  for (const row of rows) {
    if (row.order_id !== null) orders.add(row.order_id);
    else if (row.sku !== null && row.units !== null) units.set(row.sku, BigInt(row.units));
  }
  return { orders, units };
}

const claimAndLock = statement<OrdersAndUnitsRow>(
  "inventory.claim-reservations",
  `WITH claimed AS (
     INSERT INTO reservations (order_id, status, request_digest, announced)
     SELECT order_id, 'reserved', request_digest, announced
       FROM unnest($1::uuid[], $2::text[], $5::bool[]) AS c (order_id, request_digest, announced)
      WHERE ${asStockWriter}
      ORDER BY order_id
     ON CONFLICT (order_id) DO NOTHING
     RETURNING order_id
   ),
   locked AS (
     SELECT sku, available FROM products
      WHERE sku IN (SELECT i.sku FROM unnest($3::uuid[], $4::text[]) AS i (order_id, sku) JOIN claimed USING (order_id))
      ORDER BY sku
        FOR UPDATE
   )
   SELECT order_id, NULL AS sku, NULL AS units FROM claimed
   UNION ALL
   SELECT NULL, sku, available::text FROM locked`,
);

/**
 * Becomes the stock writer, creates a reservation (status `reserved` until
 * `saveReservations` decides) for every order that has none, then locks the products
 * the claimed orders ask for, in one statement. Keys and rows are taken in a fixed
 * order — orders by id, then products by SKU. Answers the
 * orders claimed and the locked units available per SKU (an unknown SKU is absent).
 * A claimed row's key stays locked until commit, so any other transaction on the
 * same order waits for this one.
 */
export async function claimReservations(
  tx: Queryable,
  claims: readonly ReservationClaim[],
): Promise<{ claimed: Set<string>; available: Map<string, bigint> }> {
  const items = claims.flatMap(({ orderId, items }) => items.map(({ sku }) => ({ orderId, sku })));
  const { rows } = await claimAndLock(tx, [
    claims.map((claim) => claim.orderId),
    claims.map((claim) => claim.requestDigest),
    items.map((item) => item.orderId),
    items.map((item) => item.sku),
    claims.map((claim) => claim.announced),
  ]);
  const { orders: claimed, units: available } = ordersAndUnits(rows);
  return { claimed, available };
}

/** What deciding a batch of claimed reservations writes. */
export interface ReservationDecisions {
  /** Reservations that hold their items: the units move from available to reserved. */
  readonly held: readonly { readonly orderId: string; readonly items: readonly StockItem[] }[];
  /** Reservations that hold nothing, and why. */
  readonly refused: readonly { readonly orderId: string; readonly shortages: readonly Shortage[] }[];
  /** The events announcing them. */
  readonly events: readonly OutboxRow[];
  /** Earlier reservations whose outcome `events` announces at last (see ReservationClaim.announced). */
  readonly announcedAtLast: readonly string[];
}

const saveDecisions = statement<OutboxWritten>(
  "inventory.save-reservations",
  `WITH item AS (
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[]) AS i (order_id, sku, quantity)
   ),
   held AS (
     INSERT INTO reservation_items (order_id, sku, quantity) SELECT order_id, sku, quantity FROM item
   ),
   taken AS (
     UPDATE products p
        SET available = p.available - t.quantity, reserved = p.reserved + t.quantity, updated_at = now()
       FROM (SELECT sku, sum(quantity) AS quantity FROM item GROUP BY sku) t
      WHERE p.sku = t.sku
   ),
   refused AS (
     UPDATE reservations r
        SET status = 'rejected', shortages = x.shortages, updated_at = now()
       FROM unnest($4::uuid[], $5::jsonb[]) AS x (order_id, shortages)
      WHERE r.order_id = x.order_id
   ),
   owed AS (
     UPDATE reservations SET announced = true WHERE order_id = ANY ($11::uuid[])
   ),
   ${announceSql(6)}`,
);

/**
 * Writes the decisions on claimed reservations in one statement: the held items and
 * the stock they take (the products are locked by `claimReservations`; the CHECK
 * constraints are the backstop), the refused reservations with their shortages, and
 * the events in the outbox (handed to its relay after the commit).
 */
export async function saveReservations(tx: Queryable, outbox: Outbox, decisions: ReservationDecisions): Promise<void> {
  const held = decisions.held.flatMap(({ orderId, items }) => items.map((item) => ({ orderId, ...item })));
  const saved = saveDecisions(tx, [
    held.map((item) => item.orderId),
    held.map((item) => item.sku),
    held.map((item) => item.quantity),
    decisions.refused.map((refusal) => refusal.orderId),
    decisions.refused.map((refusal) => JSON.stringify(refusal.shortages.map(shortageToJson))),
    ...outboxManyParams(decisions.events),
    decisions.announcedAtLast,
  ]);
  outbox.written(tx, decisions.events, saved);
  await saved;
}

function shortageToJson({ sku, requested, available }: Shortage) {
  return { sku, requested, available: available.toString() };
}

const dropUnannounced = statement<OrdersAndUnitsRow>(
  "inventory.drop-unannounced-reservations",
  `WITH dropped AS (
     DELETE FROM reservations
      WHERE order_id = ANY ($1::uuid[]) AND NOT announced AND status IN ('reserved', 'rejected')
     RETURNING order_id
   ),
   freed AS (
     DELETE FROM reservation_items i USING dropped d WHERE i.order_id = d.order_id RETURNING i.sku, i.quantity
   ),
   per_sku AS (
     SELECT sku, sum(quantity) AS quantity FROM freed GROUP BY sku
   ),
   restored AS (
     UPDATE products p
        SET available = p.available + f.quantity, reserved = p.reserved - f.quantity, updated_at = now()
       FROM per_sku f
      WHERE p.sku = f.sku
   )
   SELECT order_id, NULL AS sku, NULL AS units FROM dropped
   UNION ALL
   SELECT NULL, sku, quantity::text FROM per_sku`,
);

/**
 * Deletes reservations that an operator's ReserveStock made and nobody was told of
 * (see replacedByOrder), putting the units they held back on sale, so that the
 * orders can be claimed afresh. The caller is the stock writer. Answers the orders
 * whose reservation it deleted and the units it put back per SKU.
 */
export async function dropUnannouncedReservations(
  tx: Queryable,
  orderIds: readonly string[],
): Promise<{ dropped: Set<string>; freed: Map<string, bigint> }> {
  const { rows } = await dropUnannounced(tx, [orderIds]);
  const { orders: dropped, units: freed } = ordersAndUnits(rows);
  return { dropped, freed };
}

const addTombstones = statement<{ order_id: string }>(
  "inventory.insert-tombstones",
  `INSERT INTO reservations (order_id, status, announced)
   SELECT order_id, 'released', $2 FROM unnest($1::uuid[]) AS order_id ORDER BY order_id
   ON CONFLICT (order_id) DO NOTHING
   RETURNING order_id`,
);

/**
 * Records released reservations without items (tombstones); answers the orders that
 * had none until now. `announced`: whether the release is the saga's own (an
 * OrderCancelled), not an operator's ReleaseStock that the order does not know of.
 */
export async function insertTombstones(
  tx: Queryable,
  orderIds: readonly string[],
  announced: boolean,
): Promise<Set<string>> {
  const { rows } = await addTombstones(tx, [orderIds, announced]);
  return new Set(rows.map((row) => row.order_id));
}

const selectReservations = (lock: boolean) => `
  SELECT r.order_id, r.status, r.announced, r.request_digest, r.shortages,
         (SELECT coalesce(json_agg(json_build_object('sku', i.sku, 'quantity', i.quantity) ORDER BY i.sku), '[]')
            FROM reservation_items i WHERE i.order_id = r.order_id) AS items
    FROM reservations r
   WHERE r.order_id = ANY ($1::uuid[])${lock ? ` AND ${asStockWriter}` : ""}
   ORDER BY r.order_id${lock ? " FOR UPDATE OF r" : ""}`;
const readReservations = statement<ReservationRow>("inventory.find-reservations", selectReservations(false));
const lockReservations = statement<ReservationRow>("inventory.lock-reservations", selectReservations(true));

/**
 * The orders' reservations with their items, by order id; orders without one are
 * absent. With `lock` the caller becomes the stock writer and the reservations stay
 * locked until commit, taken in order id order.
 */
export async function findReservations(
  tx: Queryable,
  orderIds: readonly string[],
  { lock = false } = {},
): Promise<Map<string, StoredReservation>> {
  const { rows } = await (lock ? lockReservations : readReservations)(tx, [orderIds]);
  return new Map(rows.map((row) => [row.order_id, rowToReservation(row)]));
}

/** A reservation to move between the stock buckets, and its status afterwards. */
export interface ReservationMove {
  readonly orderId: string;
  readonly movement: Movement;
  readonly to: ReservationStatus;
}

const move = statement<OutboxWritten>(
  "inventory.move-items",
  `WITH move AS (
     SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::text[])
                AS m (order_id, available, reserved, sold, status)
   ),
   item AS (
     SELECT i.sku, i.quantity, m.available, m.reserved, m.sold
       FROM reservation_items i JOIN move m USING (order_id)
   ),
   locked AS (
     SELECT sku FROM products WHERE sku IN (SELECT sku FROM item) ORDER BY sku FOR UPDATE
   ),
   moved AS (
     UPDATE products p
        SET available = p.available + d.available, reserved = p.reserved + d.reserved,
            sold = p.sold + d.sold, updated_at = now()
       FROM locked l
       JOIN (SELECT sku, sum(available * quantity) AS available, sum(reserved * quantity) AS reserved,
                    sum(sold * quantity) AS sold
               FROM item GROUP BY sku) d USING (sku)
      WHERE p.sku = l.sku
   ),
   marked AS (
     UPDATE reservations r SET status = m.status, announced = r.announced OR $11, updated_at = now()
       FROM move m WHERE r.order_id = m.order_id
   ),
   ${announceSql(6)}`,
);

/**
 * Moves every item of the (locked) reservations between the stock buckets by their
 * movement and sets their statuses, and writes the events announcing it, in one
 * statement; the product rows are locked in SKU order first. Reservations whose move
 * is announced are marked so: an OrderPlaced that comes later (an operator's
 * ReserveStock and ReleaseStock before it) has nothing left to announce.
 */
export async function moveItems(
  tx: Queryable,
  moves: readonly ReservationMove[],
  announced?: { readonly outbox: Outbox; readonly events: readonly OutboxRow[] },
): Promise<void> {
  const events = announced?.events ?? [];
  const moved = move(tx, [
    moves.map((m) => m.orderId),
    moves.map((m) => m.movement.available),
    moves.map((m) => m.movement.reserved),
    moves.map((m) => m.movement.sold),
    moves.map((m) => m.to),
    ...outboxManyParams(events),
    announced !== undefined,
  ]);
  announced?.outbox.written(tx, events, moved);
  await moved;
}
