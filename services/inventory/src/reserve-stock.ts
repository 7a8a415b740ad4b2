import type pg from "pg";
import { InventoryError } from "./errors.js";
import { claimReservation, findReservation, reserveItems } from "./reservation-store.js";
import { answerOf, type Charge, digestOf, normalizeItems, type ReservationAnswer, type StockItem } from "./stock.js";
import type { StockEvents } from "./stock-events.js";

/** What an order needs reserved. */
export interface ReservationRequest {
  readonly orderId: string;
  readonly items: readonly StockItem[];
  /**
   * What to charge, from OrderPlaced. Only then is the outcome announced
   * (StockReserved / StockRejected): payment charges on StockReserved, so a
   * reservation made without it (ReserveStock over RPC) is answered, not announced.
   */
  readonly charge?: Charge;
}

/**
 * Reserves every item of an order, all or nothing, in the caller's transaction.
 * Idempotent per order: the first outcome is stored with the reservation and a
 * repeat answers it without touching stock or writing events (a repeat asking for
 * other items fails with STOCK.ORDER_MISMATCH); an order released before (a
 * tombstone) answers `released` and reserves nothing.
 */
export async function reserveStock(
  tx: pg.ClientBase,
  events: StockEvents,
  request: ReservationRequest,
): Promise<ReservationAnswer> {
  const items = normalizeItems(request.items);
  const digest = digestOf(items);
  if (!(await claimReservation(tx, request.orderId, digest))) {
    const existing = await findReservation(tx, request.orderId);
    if (existing === undefined) throw new Error(`reservation of order ${request.orderId} vanished`);
    if (existing.requestDigest !== undefined && existing.requestDigest !== digest) {
      throw new InventoryError("STOCK.ORDER_MISMATCH", `order ${request.orderId} was reserved with other items`);
    }
    return answerOf(existing.status, existing.shortages);
  }
  const { reserved, shortages } = await reserveItems(tx, request.orderId, items);
  if (request.charge !== undefined) {
    if (reserved) await events.stockReserved(tx, request.orderId, items, request.charge);
    else await events.stockRejected(tx, request.orderId, shortages);
  }
  return reserved ? { status: "reserved" } : { status: "rejected", shortages };
}
