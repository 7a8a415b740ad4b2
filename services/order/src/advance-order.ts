import type { Outbox, OutboxEvent, OutboxRow } from "@shopmesh/events";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderRejectedSchema,
} from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { awaitAtCommit } from "@shopmesh/pg";
import type pg from "pg";
import { forNoOrder, type OrderEvent, type OrderStatus, type Transition, transition } from "./order.js";
import { toMoney } from "./order-message.js";
import { applyTransitions, type LockedOrder, lockOrders } from "./order-store.js";

/** A saga event for one order. */
export interface OrderStep {
  readonly orderId: string;
  readonly event: OrderEvent;
}

/**
 * Moves orders by saga events inside the caller's transaction, with two statements
 * whatever the number of events: lock the orders (in id order), ask the state machine
 * for each event in turn, then record every allowed transition with the events that
 * announce them. Events that change nothing (stale or repeated) are skipped. An event
 * for an order that does not exist (an operator's RPC for a wrong id) is told to
 * `onNoOrder`, with what it calls for ({@link forNoOrder}: a capture is cancelled).
 * Answers each step's transition and the order it moved (undefined when skipped).
 */
export async function advanceOrders(
  tx: pg.ClientBase,
  outbox: Outbox,
  steps: readonly OrderStep[],
  onNoOrder: (step: OrderStep, announced: "cancelled" | undefined) => void = () => {},
): Promise<(AdvancedOrder | undefined)[]> {
  const orders = await lockOrders(tx, [...new Set(steps.map((step) => step.orderId))]);
  const changes: { orderId: string; next: Transition }[] = [];
  const announcements: OutboxRow[] = [];
  const outcomes = steps.map(({ orderId, event }) => {
    const order = orders.get(orderId);
    if (!order) {
      const compensation = forNoOrder(event);
      if (compensation) {
        const cancelled = { orderId, reason: compensation.reason, byCustomer: false };
        announcements.push(outbox.prepare(OrderCancelledSchema, cancelled));
      }
      onNoOrder({ orderId, event }, compensation?.announce);
      return undefined;
    }
    const from = order.status;
    const next = transition(order, event);
    if (!next) return undefined;
    order.status = next.status;
    changes.push({ orderId, next });
    const announcement = announce(orderId, order, next, event);
    if (announcement) announcements.push(outbox.prepare(announcement.schema, announcement.event));
    return { orderId, order, from, next };
  });
  await awaitAtCommit(tx, applyTransitions(tx, outbox, changes, announcements));
  return outcomes;
}

/** One event for one order: {@link advanceOrders} with a single step. */
export async function advanceOrder(tx: pg.ClientBase, outbox: Outbox, orderId: string, event: OrderEvent) {
  const [outcome] = await advanceOrders(tx, outbox, [{ orderId, event }]);
  return outcome;
}

/** A step that moved an order. */
export interface AdvancedOrder {
  readonly orderId: string;
  /** The order as the step left it (an earlier step of the batch may have moved it too). */
  readonly order: LockedOrder;
  /** Its status before the step. */
  readonly from: OrderStatus;
  readonly next: Transition;
}

function announce(orderId: string, order: LockedOrder, next: Transition, event: OrderEvent): OutboxEvent | undefined {
  switch (next.announce) {
    case "confirmed":
      return {
        schema: OrderConfirmedSchema,
        event: { orderId, paymentId: next.paymentId ?? "", total: toMoney(order.totalMinor, order.currency) },
      };
    case "rejected":
      return { schema: OrderRejectedSchema, event: { orderId, reason: next.reason } };
    case "cancelled":
      return {
        schema: OrderCancelledSchema,
        event: { orderId, reason: next.reason, byCustomer: event.kind === "cancelled-by-customer" },
      };
    default:
      return undefined;
  }
}
