import { awaitAtCommit } from "@shopmesh/pg";
import type pg from "pg";
import { findReservations, moveItems, type ReservationMove } from "./reservation-store.js";
import { onOrderConfirmed, type Transition } from "./stock.js";

/**
 * An OrderConfirmed whose order has no reservation yet: its OrderPlaced, which the
 * confirmation normally follows, has not been applied. It can overtake it when an
 * operator charges a PENDING order while the OrderPlaced publish is delayed.
 */
export class ReservationNotYetMadeError extends Error {
  constructor(orderId: string) {
    super(`order ${orderId} is confirmed but has no reservation yet`);
    this.name = "ReservationNotYetMadeError";
  }
}

/**
 * Turns confirmed orders' reservations into sold stock in the caller's transaction
 * (OrderConfirmed), with two statements whatever their number: lock the
 * reservations, then move the items of those still reserved. Idempotent, and a no-op
 * for an order already released. Answers the transition taken for each order, in
 * order; throws ReservationNotYetMadeError (to be retried) while a reservation is missing.
 */
export async function sellReservedStocks(tx: pg.ClientBase, orderIds: readonly string[]): Promise<Transition[]> {
  const reservations = await findReservations(tx, [...new Set(orderIds)], { lock: true });
  const statuses = new Map([...reservations].map(([orderId, { status }]) => [orderId, status]));
  const moves: ReservationMove[] = [];
  const steps = orderIds.map((orderId) => {
    const step = onOrderConfirmed(statuses.get(orderId));
    if (step.kind === "missing") throw new ReservationNotYetMadeError(orderId);
    if (step.kind === "move") {
      moves.push({ orderId, movement: step.movement, to: step.to });
      statuses.set(orderId, step.to);
    }
    return step;
  });
  if (moves.length > 0) await awaitAtCommit(tx, moveItems(tx, moves));
  return steps;
}
