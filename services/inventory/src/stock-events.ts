import type { Outbox, OutboxRow } from "@shopmesh/events";
import {
  StockRejectedSchema,
  StockReleasedSchema,
  StockReservedSchema,
} from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import type { Charge, Shortage, StockItem } from "./stock.js";

/**
 * The inventory events as outbox rows, which the stores write in the same statement
 * as the stock change they announce.
 */
export interface StockEvents {
  /** The outbox that prepares them, which the stores tell what they wrote. */
  readonly outbox: Outbox;
  stockReserved(orderId: string, items: readonly StockItem[], charge: Charge): OutboxRow;
  stockRejected(orderId: string, shortages: readonly Shortage[]): OutboxRow;
  stockReleased(orderId: string, items: readonly StockItem[]): OutboxRow;
}

/** Maps the domain's facts to the contract's event messages. */
export function createStockEvents(outbox: Outbox): StockEvents {
  return {
    outbox,
    stockReserved: (orderId, items, charge) =>
      outbox.prepare(StockReservedSchema, {
        orderId,
        items: items.map(({ sku, quantity }) => ({ sku, quantity })),
        total: { amountMinor: charge.total.amountMinor, currencyCode: charge.total.currency },
        paymentToken: charge.paymentToken,
      }),
    stockRejected: (orderId, shortages) =>
      outbox.prepare(StockRejectedSchema, {
        orderId,
        shortages: shortages.map(({ sku, requested, available }) => ({ sku, requested, available })),
      }),
    stockReleased: (orderId, items) =>
      outbox.prepare(StockReleasedSchema, {
        orderId,
        items: items.map(({ sku, quantity }) => ({ sku, quantity })),
      }),
  };
}
