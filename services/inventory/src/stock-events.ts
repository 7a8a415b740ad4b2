import type { Outbox } from "@shopmesh/events";
import {
  StockRejectedSchema,
  StockReleasedSchema,
  StockReservedSchema,
} from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import type pg from "pg";
import type { Charge, Shortage, StockItem } from "./stock.js";

/** The inventory events, written to the outbox in the transaction that changes the stock. */
export interface StockEvents {
  stockReserved(tx: pg.ClientBase, orderId: string, items: readonly StockItem[], charge: Charge): Promise<void>;
  stockRejected(tx: pg.ClientBase, orderId: string, shortages: readonly Shortage[]): Promise<void>;
  stockReleased(tx: pg.ClientBase, orderId: string, items: readonly StockItem[]): Promise<void>;
}

/** Maps the domain's facts to the contract's event messages on the outbox. */
export function createStockEvents(outbox: Outbox): StockEvents {
  return {
    async stockReserved(tx, orderId, items, charge) {
      await outbox.append(tx, StockReservedSchema, {
        orderId,
        items: items.map(({ sku, quantity }) => ({ sku, quantity })),
        total: { amountMinor: charge.total.amountMinor, currencyCode: charge.total.currency },
        paymentToken: charge.paymentToken,
      });
    },
    async stockRejected(tx, orderId, shortages) {
      await outbox.append(tx, StockRejectedSchema, {
        orderId,
        shortages: shortages.map(({ sku, requested, available }) => ({ sku, requested, available })),
      });
    },
    async stockReleased(tx, orderId, items) {
      await outbox.append(tx, StockReleasedSchema, {
        orderId,
        items: items.map(({ sku, quantity }) => ({ sku, quantity })),
      });
    },
  };
}
