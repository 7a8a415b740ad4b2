import { type Outbox, PermanentEventError } from "@shopmesh/events";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderRejectedSchema,
} from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import type pg from "pg";
import { type OrderEvent, type Transition, transition } from "./order.js";
import { toMoney } from "./order-message.js";
import { applyTransition, lockOrder } from "./order-store.js";

/**
 * Moves an order by one saga event inside the caller's transaction: locks the order,
 * asks the state machine, records an allowed transition and announces it through
 * the outbox. Answers undefined when the event changes nothing (stale or repeated).
 */
export async function advanceOrder(
  tx: pg.ClientBase,
  outbox: Outbox,
  orderId: string,
  event: OrderEvent,
): Promise<Transition | undefined> {
  const current = await lockOrder(tx, orderId);
  if (!current) throw new PermanentEventError(`no order ${orderId}`);
  const next = transition(current.status, event);
  if (!next) return undefined;
  await applyTransition(tx, orderId, next);
  switch (next.announce) {
    case "confirmed":
      await outbox.append(tx, OrderConfirmedSchema, {
        orderId,
        paymentId: next.paymentId ?? "",
        total: toMoney(BigInt(current.total_minor), current.currency),
      });
      break;
    case "rejected":
      await outbox.append(tx, OrderRejectedSchema, { orderId, reason: next.reason });
      break;
    case "cancelled":
      await outbox.append(tx, OrderCancelledSchema, {
        orderId,
        reason: next.reason,
        byCustomer: event.kind === "cancelled-by-customer",
      });
      break;
  }
  return next;
}
