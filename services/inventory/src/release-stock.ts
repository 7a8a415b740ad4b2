import type pg from "pg";
import { findReservation, insertTombstone, moveItems } from "./reservation-store.js";
import { onOrderCancelled, type StockItem } from "./stock.js";
import type { StockEvents } from "./stock-events.js";

/**
 * Releases an order's stock in the caller's transaction (OrderCancelled, or
 * ReleaseStock): reserved units go back on sale, and so do sold ones when a
 * confirmed order is cancelled; StockReleased announces what moved. An order with
 * no reservation yet gets a tombstone, so a reservation arriving later is refused.
 * Idempotent: a released order answers no items. Answers the items released.
 */
export async function releaseStock(tx: pg.ClientBase, events: StockEvents, orderId: string): Promise<StockItem[]> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const current = await findReservation(tx, orderId, { lock: true });
    const step = onOrderCancelled(current?.status);
    if (step.kind === "tombstone") {
      if (await insertTombstone(tx, orderId)) return [];
      continue;
    }
    if (step.kind !== "move") return [];
    const items = await moveItems(tx, orderId, step.movement, step.to);
    await events.stockReleased(tx, orderId, items);
    return items;
  }
  throw new Error(`could not settle the reservation of order ${orderId}; will retry`);
}
