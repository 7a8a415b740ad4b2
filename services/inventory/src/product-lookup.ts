import { coalesce } from "@shopmesh/server";
import type { Product } from "./product.js";
import { findProducts, type Queryable } from "./product-store.js";

/** The products with these SKUs, by SKU (unknown SKUs absent); may hold others too. */
export type ProductLookup = (skus: readonly string[]) => Promise<ReadonlyMap<string, Product>>;

/**
 * Reads products by SKU for the catalog RPCs, one query at a time: lookups that come
 * while a query runs are answered together by the next one. Every PlaceOrder prices
 * its order here, so under load this turns a statement per order into one per
 * handful of orders.
 */
export function createProductLookup(db: Queryable): ProductLookup {
  return coalesce(async (skuLists: readonly (readonly string[])[]) => {
    const found = await findProducts(db, [...new Set(skuLists.flat())]);
    return skuLists.map(() => found);
  });
}
