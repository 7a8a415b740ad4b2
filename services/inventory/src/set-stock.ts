import { withTx } from "@shopmesh/pg";
import type pg from "pg";
import { InventoryError } from "./errors.js";
import { lockStockLevel, saveAvailable } from "./product-store.js";
import { countStock, type StockLevel } from "./stock.js";

/**
 * Records an inventory count: the SKU has `onHand` units, reserved ones included.
 * Fails with STOCK.UNKNOWN_SKU or STOCK.BELOW_RESERVED (reservations are kept).
 */
export function setStock(pool: pg.Pool, sku: string, onHand: bigint): Promise<StockLevel> {
  return withTx(pool, async (tx) => {
    const level = await lockStockLevel(tx, sku);
    if (level === undefined) throw new InventoryError("STOCK.UNKNOWN_SKU", `no product with SKU ${sku}`);
    const counted = countStock(level, onHand);
    await saveAvailable(tx, sku, counted.available);
    return counted;
  });
}
