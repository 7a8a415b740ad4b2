import type { OutboxRow } from "@shopmesh/events";
import type pg from "pg";
import { findReservations, insertTombstones, moveItems, type ReservationMove } from "./reservation-store.js";
import { onOrderCancelled, onReleaseRequested, type StockItem } from "./stock.js";
import type { StockEvents } from "./stock-events.js";

/**
 * Releases orders' stock in the caller's transaction, with two statements whatever
 * their number: for OrderCancelled ({@link onOrderCancelled}) reserved units go back
 * on sale, and so do sold ones; for an operator's ReleaseStock (`byOperator`,
 * {@link onReleaseRequested}) reserved ones only. StockReleased announces what moved. An order with no reservation yet gets a tombstone, so a
 * reservation arriving later is refused. Idempotent: a released order answers no
 * items. Answers the items each order released, in order.
 */
export async function releaseStocks(
  tx: pg.ClientBase,
  events: StockEvents,
  orderIds: readonly string[],
  { byOperator = false } = {},
): Promise<StockItem[][]> {
  const decide = byOperator ? onReleaseRequested : onOrderCancelled;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const reservations = await findReservations(tx, [...new Set(orderIds)], { lock: true });
    const statuses = new Map([...reservations].map(([orderId, { status }]) => [orderId, status]));
    const tombstones: string[] = [];
    const moves: ReservationMove[] = [];
    const announced: OutboxRow[] = [];
    const released = orderIds.map((orderId) => {
      const step = decide(statuses.get(orderId));
      if (step.kind === "tombstone") {
        tombstones.push(orderId);
        statuses.set(orderId, "released");
      }
      if (step.kind !== "move") return [];
      const items = [...(reservations.get(orderId)?.items ?? [])];
      moves.push({ orderId, movement: step.movement, to: step.to });
      announced.push(events.stockReleased(orderId, items));
      statuses.set(orderId, step.to);
      return items;
    });
    if (tombstones.length > 0 && (await insertTombstones(tx, tombstones, !byOperator)).size < tombstones.length) {
      continue;
    }
    if (moves.length > 0) await moveItems(tx, moves, { outbox: events.outbox, events: announced });
    return released;
  }
  throw new Error(`could not settle the reservations of orders ${orderIds.join(", ")}; will retry`);
}

/** ReleaseStock: {@link releaseStocks} of one order's reserved units. */
export async function releaseStock(tx: pg.ClientBase, events: StockEvents, orderId: string): Promise<StockItem[]> {
  const [released] = await releaseStocks(tx, events, [orderId], { byOperator: true });
  return released ?? [];
}
