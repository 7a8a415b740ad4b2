import type pg from "pg";
import { findReservation, moveItems } from "./reservation-store.js";
import { onOrderConfirmed, type Transition } from "./stock.js";

/**
 * Turns a confirmed order's reservation into sold stock, in the caller's transaction
 * (OrderConfirmed). Idempotent, and a no-op for an order already released. Answers
 * the transition taken; throws (to be retried) while the reservation is missing.
 */
export async function sellReservedStock(tx: pg.ClientBase, orderId: string): Promise<Transition> {
  const current = await findReservation(tx, orderId, { lock: true });
  const step = onOrderConfirmed(current?.status);
  if (step.kind === "missing") throw new Error(`order ${orderId} is confirmed but has no reservation`);
  if (step.kind === "move") await moveItems(tx, orderId, step.movement, step.to);
  return step;
}
