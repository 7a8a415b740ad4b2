import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { type BatchedEvent, onTxBatch, PermanentEventError } from "@shopmesh/events";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  type OrderPlaced,
  OrderPlacedSchema,
  OrderRejectedSchema,
} from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { afterCommit } from "@shopmesh/pg";
import type { ConsumerSpec } from "@shopmesh/runtime";
import { canonicalUuid } from "@shopmesh/server";
import type { Logger } from "pino";
import { InventoryError } from "./errors.js";
import { releaseStocks } from "./release-stock.js";
import { type ReservationRequest, reserveStocks } from "./reserve-stock.js";
import { ReservationNotYetMadeError, sellReservedStocks } from "./sell-stock.js";
import type { StockEvents } from "./stock-events.js";

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The inventory step of the checkout saga, as the durable consumer "inventory" of
 * ORDERS: OrderPlaced reserves, OrderConfirmed sells, OrderCancelled releases (or
 * leaves a tombstone). OrderRejected needs nothing: nothing was reserved. Consecutive
 * events of a type are applied together with a few set-based statements; the
 * effects commit with the events' inbox rows, so redeliveries are no-ops. A malformed
 * event fails its batch, which the consumer then applies one event at a time: the
 * culprit is dead-lettered, the others applied.
 */
export function createOrderEventsConsumer({ events, logger }: { events: StockEvents; logger: Logger }): ConsumerSpec {
  return {
    name: "inventory",
    // An OrderConfirmed that overtook its OrderPlaced waits for it: retried without
    // counting towards maxAttempts, for up to maxDeliveries (100, some 8 minutes 5 s apart). Dead-lettered after 5 attempts
    // (8 s), it would leave the order's units reserved for ever once OrderPlaced came.
    isDependencyFailure: (error) => error instanceof ReservationNotYetMadeError,
    subscriptions: [
      onTxBatch(OrderPlacedSchema, async (batch, tx) => {
        const requests = inPlacementOrder(batch).map(({ event }) => reservationOf(event));
        await permanentIfInvalid(() => reserveStocks(tx, events, requests));
      }),
      onTxBatch(OrderConfirmedSchema, async (batch, tx) => {
        const orderIds = batch.map(({ event }) => orderIdOf(event));
        const steps = await sellReservedStocks(tx, orderIds);
        // Logged once the batch commits: one rolled back is applied again, event by event.
        afterCommit(tx, () => {
          for (const [i, step] of steps.entries()) {
            if (step.kind === "none")
              logger.debug({ orderId: orderIds[i], reason: step.reason }, "confirmation ignored");
          }
        });
      }),
      onTxBatch(OrderCancelledSchema, async (batch, tx) => {
        await releaseStocks(
          tx,
          events,
          batch.map(({ event }) => orderIdOf(event)),
        );
      }),
    ],
    ignores: [OrderRejectedSchema],
  };
}

/**
 * The consumer hands a batch over in order id order (its lock order), but scarce
 * stock should go to the orders placed first: a stable sort by placement time.
 */
function inPlacementOrder(batch: readonly BatchedEvent<typeof OrderPlacedSchema>[]) {
  return [...batch].sort((a, b) => compareTimes(a.event.occurTime, b.event.occurTime));
}

function compareTimes(a: Timestamp | undefined, b: Timestamp | undefined): number {
  const seconds = (a?.seconds ?? 0n) - (b?.seconds ?? 0n);
  return seconds !== 0n ? (seconds < 0n ? -1 : 1) : (a?.nanos ?? 0) - (b?.nanos ?? 0);
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

/** The event's order id, in the form PostgreSQL answers uuids in, which the stores compare rows by. */
function orderIdOf(event: { orderId: string }): string {
  if (!uuidPattern.test(event.orderId)) throw new PermanentEventError(`invalid order id "${event.orderId}"`);
  return canonicalUuid(event.orderId);
}

async function permanentIfInvalid<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof InventoryError) throw new PermanentEventError(`${error.code}: ${error.message}`);
    throw error;
  }
}
