import { onTx, PermanentEventError } from "@shopmesh/events";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  type OrderPlaced,
  OrderPlacedSchema,
} from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import type { ConsumerSpec } from "@shopmesh/runtime";
import type { Logger } from "pino";
import { InventoryError } from "./errors.js";
import { releaseStock } from "./release-stock.js";
import { type ReservationRequest, reserveStock } from "./reserve-stock.js";
import { sellReservedStock } from "./sell-stock.js";
import type { StockEvents } from "./stock-events.js";

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The inventory step of the checkout saga, as the durable consumer "inventory" of
 * ORDERS: OrderPlaced reserves, OrderConfirmed sells, OrderCancelled releases (or
 * leaves a tombstone). OrderRejected needs nothing: nothing was reserved. Each
 * effect commits with the event's inbox row, so redeliveries are no-ops; a
 * malformed event is dead-lettered at once.
 */
export function createOrderEventsConsumer({ events, logger }: { events: StockEvents; logger: Logger }): ConsumerSpec {
  return {
    name: "inventory",
    stream: "ORDERS",
    subscriptions: [
      onTx(OrderPlacedSchema, async (event, tx) => {
        const request = reservationOf(event);
        await permanentIfInvalid(() => reserveStock(tx, events, request));
      }),
      onTx(OrderConfirmedSchema, async (event, tx) => {
        const orderId = orderIdOf(event);
        const step = await sellReservedStock(tx, orderId);
        if (step.kind === "none") logger.debug({ orderId, reason: step.reason }, "confirmation ignored");
      }),
      onTx(OrderCancelledSchema, async (event, tx) => {
        await releaseStock(tx, events, orderIdOf(event));
      }),
    ],
  };
}

function reservationOf(event: OrderPlaced): ReservationRequest {
  if (event.total === undefined) throw new PermanentEventError("OrderPlaced without a total");
  return {
    orderId: orderIdOf(event),
    items: event.lines.map(({ sku, quantity }) => ({ sku, quantity })),
    charge: {
      total: { amountMinor: event.total.amountMinor, currency: event.total.currencyCode },
      paymentToken: event.paymentToken,
    },
  };
}

function orderIdOf(event: { orderId: string }): string {
  if (!uuidPattern.test(event.orderId)) throw new PermanentEventError(`invalid order id "${event.orderId}"`);
  return event.orderId;
}

async function permanentIfInvalid<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof InventoryError) throw new PermanentEventError(`${error.code}: ${error.message}`);
    throw error;
  }
}
