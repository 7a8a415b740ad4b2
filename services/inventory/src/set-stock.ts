import { withTx } from "@shopmesh/pg";
import type pg from "pg";
import { InventoryError } from "./errors.js";
import { findStockLevel, saveAvailable } from "./product-store.js";
import { countStock, onHandOf, type StockLevel } from "./stock.js";

/**
 * Records an inventory count: the SKU has `onHand` units, reserved ones included.
 * With `expectedOnHand`, only if on hand is still what the count was taken against —
 * a sale or a restock since would otherwise be overwritten — or already is `onHand`. Fails with
 * STOCK.UNKNOWN_SKU, STOCK.BELOW_RESERVED (reservations are kept) or STOCK.CHANGED.
 */
export function setStock(pool: pg.Pool, sku: string, onHand: bigint, expectedOnHand?: bigint): Promise<StockLevel> {
  return withTx(pool, async (tx) => {
    const level = await findStockLevel(tx, sku, { lock: true });
    if (level === undefined) throw unknownSku(sku);
    // A count already in effect is answered as done: the call stays idempotent when
    // its answer was lost and it is sent again.
    const current = onHandOf(level);
    if (expectedOnHand !== undefined && current !== expectedOnHand && current !== onHand) {
      throw new InventoryError(
        "STOCK.CHANGED",
        `${sku} has ${current} units on hand, not the ${expectedOnHand} counted against: read it again`,
      );
    }
    const counted = countStock(level, onHand);
    await saveAvailable(tx, sku, counted.available);
    return counted;
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
