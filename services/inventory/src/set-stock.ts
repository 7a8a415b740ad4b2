import { withTx } from "@shopmesh/pg";
import type pg from "pg";
import { InventoryError } from "./errors.js";
import { findLastCount, findStockLevel, saveCount } from "./product-store.js";
import { type CountRequest, countStock, decideCount, type StockLevel } from "./stock.js";

/**
 * Records an inventory count: the SKU has `count.onHand` units, reserved ones included
 * — only if the stock is still what the count was taken against, when it says
 * ({@link decideCount}); the same count sent again is answered as done. Fails with
 * STOCK.UNKNOWN_SKU, STOCK.BELOW_RESERVED (reservations are kept) or STOCK.CHANGED.
 */
export function setStock(pool: pg.Pool, sku: string, count: CountRequest): Promise<StockLevel> {
  return withTx(pool, async (tx) => {
    const level = await findStockLevel(tx, sku, { lock: true });
    if (level === undefined) throw unknownSku(sku);
    if (decideCount(level, await findLastCount(tx, sku), count) === "done") return level;
    const counted = countStock(level, count.onHand);
    return saveCount(tx, level, counted);
  });
}

/** A SKU's stock position now. Fails with STOCK.UNKNOWN_SKU. */
export async function getStock(pool: pg.Pool, sku: string): Promise<StockLevel> {
  const level = await findStockLevel(pool, sku);
  if (level === undefined) throw unknownSku(sku);
  return level;
}

function unknownSku(sku: string): InventoryError {
  return new InventoryError("STOCK.UNKNOWN_SKU", `no product with SKU ${sku}`);
}
