import {
  type Outbox,
  type OutboxRow,
  type OutboxWritten,
  outboxInsertManyGuardedSql,
  outboxInsertManySql,
  outboxManyParams,
  outboxWrittenSql,
} from "@shopmesh/events";
import { batchPerTick } from "@shopmesh/server";
import type pg from "pg";
import { type EndCause, isEndCauseOf, type Order, type OrderLine, type OrderStatus, type Transition } from "./order.js";

/** The NOTIFY channel that carries the id of an order that changed. */
export const orderChangedChannel = "shopmesh_order_changed";

/** A new order to insert, with what makes its idempotency key unique. */
export interface NewOrder {
  readonly orderId: string;
  readonly customerId: string;
  readonly lines: readonly OrderLine[];
  readonly totalMinor: bigint;
  readonly currency: string;
  readonly idempotencyKey: string;
  readonly requestHash: string;
}

/** A stored order with the hash of the request that created it. */
export interface StoredOrder extends Order {
  readonly requestHash: string;
}

interface OrderRow {
  order_id: string;
  customer_id: string;
  status: OrderStatus;
  status_reason: string;
  end_cause: EndCause | "";
  total_minor: string;
  currency: string;
  payment_id: string;
  request_hash: string;
  created_at: Date;
  updated_at: Date;
  lines: { sku: string; name: string; quantity: number; unit_price_minor: string }[];
  history: { status: OrderStatus; reason: string; at: string }[];
}

const selectOrder = `
  SELECT o.order_id, o.customer_id, o.status, o.status_reason, o.end_cause, o.total_minor, o.currency, o.payment_id,
         o.request_hash, o.created_at, o.updated_at,
         (SELECT coalesce(json_agg(json_build_object('sku', l.sku, 'name', l.name, 'quantity', l.quantity,
                   'unit_price_minor', l.unit_price_minor::text) ORDER BY l.line_no), '[]')
            FROM order_lines l WHERE l.order_id = o.order_id) AS lines,
         (SELECT coalesce(json_agg(json_build_object('status', h.status, 'reason', h.reason, 'at', h.at)
                   ORDER BY h.seq), '[]')
            FROM order_history h WHERE h.order_id = o.order_id) AS history
    FROM orders o`;

function rowToOrder(row: OrderRow): StoredOrder {
  return {
    orderId: row.order_id,
    customerId: row.customer_id,
    status: row.status,
    statusReason: row.status_reason,
    ...(row.end_cause && isEndCauseOf(row.status, row.end_cause) ? { endCause: row.end_cause } : {}),
    lines: row.lines.map((line) => ({
      sku: line.sku,
      name: line.name,
      quantity: line.quantity,
      unitPriceMinor: BigInt(line.unit_price_minor),
    })),
    totalMinor: BigInt(row.total_minor),
    currency: row.currency,
    paymentId: row.payment_id,
    history: row.history.map((change) => ({ status: change.status, reason: change.reason, at: new Date(change.at) })),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    requestHash: row.request_hash,
  };
}

/** A new order and the event announcing it. */
export interface OrderInsert {
  readonly order: NewOrder;
  readonly placed: OutboxRow;
}

/**
 * Inserts orders, their lines, their first history entries and the events announcing
 * them (outbox rows) in one statement — atomic without BEGIN/COMMIT round trips, and
 * one round trip and one commit for all the orders placed together — and hands the
 * events written to the outbox's relay (see {@link Outbox.written}). No watcher can
 * be waiting for an order that did not exist, so nothing is notified. Answers, per
 * order, when it was created — or undefined when the customer already has an order
 * with its idempotency key (for that order nothing is written; of two in the same
 * call with one key, the first is inserted).
 */
export async function insertOrders(db: pg.Pool | pg.ClientBase, outbox: Outbox, inserts: readonly OrderInsert[]) {
  const orders = inserts.map(({ order }) => order);
  const lines = orders.flatMap((order) =>
    order.lines.map((line, index) => ({ orderId: order.orderId, no: index + 1, line })),
  );
  const placed = inserts.map((insert) => insert.placed);
  const inserted = db.query<{ order_id: string; created_at: Date } & OutboxWritten>({
    name: "order.insert",
    text: `WITH created AS (
       INSERT INTO orders (order_id, customer_id, status, total_minor, currency, idempotency_key, request_hash)
       SELECT o.order_id, o.customer_id, 'pending', o.total_minor, o.currency, o.idempotency_key, o.request_hash
         FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])
              WITH ORDINALITY AS o(order_id, customer_id, total_minor, currency, idempotency_key, request_hash, n)
        ORDER BY o.n
       ON CONFLICT (customer_id, idempotency_key) DO NOTHING
       RETURNING order_id, created_at
     ), lines AS (
       INSERT INTO order_lines (order_id, line_no, sku, name, quantity, unit_price_minor)
       SELECT line.order_id, line.no, line.sku, line.name, line.quantity, line.price
         FROM unnest($7::uuid[], $8::int[], $9::text[], $10::text[], $11::int[], $12::bigint[])
              AS line(order_id, no, sku, name, quantity, price)
         JOIN created USING (order_id)
     ), history AS (
       INSERT INTO order_history (order_id, seq, status, at) SELECT order_id, 1, 'pending', created_at FROM created
     ), announced AS (
       ${outboxInsertManyGuardedSql(13, { keys: "$1::uuid[]", cte: "created", column: "order_id" })}
     )
     SELECT order_id, created_at, ${outboxWrittenSql("announced")} FROM created`,
    values: [
      orders.map((order) => order.orderId),
      orders.map((order) => order.customerId),
      orders.map((order) => order.totalMinor.toString()),
      orders.map((order) => order.currency),
      orders.map((order) => order.idempotencyKey),
      orders.map((order) => order.requestHash),
      lines.map(({ orderId }) => orderId),
      lines.map(({ no }) => no),
      lines.map(({ line }) => line.sku),
      lines.map(({ line }) => line.name),
      lines.map(({ line }) => line.quantity),
      lines.map(({ line }) => line.unitPriceMinor.toString()),
      ...outboxManyParams(placed),
    ],
  });
  outbox.written(db, placed, inserted);
  const { rows } = await inserted;
  const created = new Map(rows.map((row) => [row.order_id, { createdAt: row.created_at }]));
  return orders.map((order) => created.get(order.orderId));
}

/** Inserts an order; see {@link createOrderInserter}. */
export type OrderInserter = (insert: OrderInsert) => Promise<{ createdAt: Date } | undefined>;

/**
 * Inserts each order together with the others placed in the same turn of the event
 * loop — under load, the PlaceOrders one catalog answer released — with one
 * statement (see insertOrders), instead of a statement, a connection and a commit
 * each.
 */
export function createOrderInserter(pool: pg.Pool, outbox: Outbox): OrderInserter {
  return batchPerTick((inserts: readonly OrderInsert[]) => insertOrders(pool, outbox, inserts));
}

/** The customer's order with this idempotency key, if any. */
export async function findByIdempotencyKey(db: pg.ClientBase | pg.Pool, customerId: string, key: string) {
  const { rows } = await db.query<OrderRow>({
    name: "order.find-by-idempotency-key",
    text: `${selectOrder} WHERE o.customer_id = $1 AND o.idempotency_key = $2`,
    values: [customerId, key],
  });
  return rows[0] && rowToOrder(rows[0]);
}

/** One of a customer's orders; undefined when it does not exist or belongs to someone else. */
export async function findCustomerOrder(db: pg.ClientBase | pg.Pool, customerId: string, orderId: string) {
  const { rows } = await db.query<OrderRow>({
    name: "order.find-customer-order",
    text: `${selectOrder} WHERE o.order_id = $1 AND o.customer_id = $2`,
    values: [orderId, customerId],
  });
  return rows[0] && rowToOrder(rows[0]);
}

/** Where a page of a customer's orders starts: after this (created_at, order_id). */
export interface OrderCursor {
  readonly createdAt: string;
  readonly orderId: string;
}

/**
 * A page of a customer's orders, newest first, each with the cursor of the orders
 * after it, and whether any come after the page.
 */
export async function listCustomerOrders(
  db: pg.Pool,
  customerId: string,
  pageSize: number,
  after: OrderCursor | undefined,
): Promise<{ orders: { order: StoredOrder; cursor: OrderCursor }[]; more: boolean }> {
  const { rows } = await db.query<OrderRow & { created_at_text: string }>({
    name: "order.list",
    text: `SELECT page.*, page.created_at::text AS created_at_text FROM (${selectOrder}
       WHERE o.customer_id = $1 AND ($2::timestamptz IS NULL OR (o.created_at, o.order_id) < ($2, $3::uuid))
       ORDER BY o.created_at DESC, o.order_id DESC LIMIT $4) page
      ORDER BY page.created_at DESC, page.order_id DESC`,
    values: [customerId, after?.createdAt ?? null, after?.orderId ?? null, pageSize + 1],
  });
  return {
    orders: rows.slice(0, pageSize).map((row) => ({
      order: rowToOrder(row),
      cursor: { createdAt: row.created_at_text, orderId: row.order_id },
    })),
    more: rows.length > pageSize,
  };
}

/** An order locked for transitions: what the state machine and announcements need. */
export interface LockedOrder {
  status: OrderStatus;
  readonly customerId: string;
  readonly totalMinor: bigint;
  readonly currency: string;
  readonly createdAt: Date;
}

/** Locks orders for transitions, in id order (so concurrent batches never deadlock). */
export async function lockOrders(tx: pg.ClientBase, orderIds: readonly string[]): Promise<Map<string, LockedOrder>> {
  const { rows } = await tx.query<{
    order_id: string;
    status: OrderStatus;
    customer_id: string;
    total_minor: string;
    currency: string;
    created_at: Date;
  }>({
    name: "order.lock",
    text: `SELECT order_id, status, customer_id, total_minor, currency, created_at FROM orders
      WHERE order_id = ANY($1::uuid[]) ORDER BY order_id FOR UPDATE`,
    values: [orderIds],
  });
  return new Map(
    rows.map((row) => [
      row.order_id,
      {
        status: row.status,
        customerId: row.customer_id,
        totalMinor: BigInt(row.total_minor),
        currency: row.currency,
        createdAt: row.created_at,
      },
    ]),
  );
}

/**
 * Records allowed transitions in one statement: each order's latest status, a
 * history entry per transition (in order), the events announcing them (outbox rows),
 * and a change notification per order that a WatchOrder stream follows (see
 * order-watch.ts).
 */
export async function applyTransitions(
  tx: pg.ClientBase,
  outbox: Outbox,
  changes: readonly { orderId: string; next: Transition }[],
  announcements: readonly OutboxRow[],
): Promise<void> {
  if (changes.length === 0 && announcements.length === 0) return;
  const applied = tx.query<OutboxWritten>({
    name: "order.transitions",
    text: `WITH change AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
              AS c(order_id, status, reason, payment_id, end_cause, n)
     ), latest AS (
       -- The last change's status, and the last payment id any change of the order named:
       -- a cancellation after a capture in one batch keeps the captured payment's id.
       SELECT DISTINCT ON (order_id) order_id, status, reason, end_cause,
              (SELECT p.payment_id FROM change p WHERE p.order_id = c.order_id AND p.payment_id <> ''
                ORDER BY p.n DESC LIMIT 1) AS payment_id
         FROM change c ORDER BY order_id, n DESC
     ), updated AS (
       UPDATE orders o
          SET status = l.status, status_reason = l.reason, end_cause = l.end_cause,
              payment_id = coalesce(l.payment_id, o.payment_id), updated_at = now()
         FROM latest l WHERE o.order_id = l.order_id
       RETURNING o.order_id
     ), recorded AS (
       INSERT INTO order_history (order_id, seq, status, reason, at)
       SELECT c.order_id,
              coalesce((SELECT max(h.seq) FROM order_history h WHERE h.order_id = c.order_id), 0)
                + row_number() OVER (PARTITION BY c.order_id ORDER BY c.n),
              c.status, c.reason, now()
         FROM change c
       RETURNING order_id
     ), announced AS (
       ${outboxInsertManySql(7)}
     ), notified AS (
       SELECT pg_notify($6, order_id::text) FROM (SELECT DISTINCT order_id FROM recorded) changed
        WHERE EXISTS (SELECT FROM order_watches w WHERE w.order_id = changed.order_id AND w.watched_until > now())
     )
     SELECT (SELECT count(*) FROM notified) AS notified, ${outboxWrittenSql("announced")}`,
    values: [
      changes.map((change) => change.orderId),
      changes.map((change) => change.next.status),
      changes.map((change) => change.next.reason),
      changes.map((change) => change.next.paymentId ?? ""),
      changes.map((change) => change.next.cause ?? ""),
      orderChangedChannel,
      ...outboxManyParams(announcements),
    ],
  });
  outbox.written(tx, announcements, applied);
  await applied;
}

/** How long a watcher's registration lasts unless refreshed. */
const watchLeaseSeconds = 300;

/**
 * Registers a process's watch of orders so their transitions NOTIFY. It waits for
 * the orders' row locks (FOR SHARE against a transition's FOR UPDATE): a transition
 * that committed without seeing the registration has committed before the watcher
 * re-reads the order, so no change goes unseen.
 */
export async function registerWatches(db: pg.Pool, watcher: string, orderIds: readonly string[]): Promise<void> {
  await db.query({
    name: "order.watch-register",
    text: `WITH locked AS (SELECT order_id FROM orders WHERE order_id = ANY($1::uuid[]) FOR SHARE)
           INSERT INTO order_watches (order_id, watcher, watched_until)
           SELECT order_id, $2, now() + make_interval(secs => $3) FROM locked
           ON CONFLICT (order_id, watcher) DO UPDATE SET watched_until = excluded.watched_until`,
    values: [orderIds, watcher, watchLeaseSeconds],
  });
}

/** Ends a process's watch of an order. */
export async function unregisterWatch(db: pg.Pool, watcher: string, orderId: string): Promise<void> {
  await db.query({
    name: "order.watch-unregister",
    text: "DELETE FROM order_watches WHERE order_id = $1 AND watcher = $2",
    values: [orderId, watcher],
  });
}

/** Extends a process's registrations, and forgets expired ones (a crashed process's). */
export async function refreshWatches(db: pg.Pool, watcher: string): Promise<void> {
  await db.query({
    name: "order.watch-refresh",
    text: `WITH expired AS (DELETE FROM order_watches WHERE watched_until < now())
           UPDATE order_watches SET watched_until = now() + make_interval(secs => $2) WHERE watcher = $1`,
    values: [watcher, watchLeaseSeconds],
  });
}
