import type { Product } from "./product.js";
import { findProducts, type Queryable } from "./product-store.js";

/** The products with these SKUs, by SKU (unknown SKUs absent); may hold others too. */
export type ProductLookup = (skus: readonly string[]) => Promise<ReadonlyMap<string, Product>>;

interface Waiting {
  readonly skus: readonly string[];
  resolve(found: ReadonlyMap<string, Product>): void;
  reject(error: unknown): void;
}

/**
 * Reads products by SKU for the catalog RPCs, one query at a time: lookups that come
 * while a query runs wait for it and are then answered together by the next one.
 * Every PlaceOrder prices its order here, so under load this turns a statement per
 * order into one per handful of orders; an idle service answers at once. The query
 * shows in the trace of the call that ran it.
 */
export function createProductLookup(db: Queryable): ProductLookup {
  let waiting: Waiting[] = [];
  let running = false;
  const drain = async () => {
    running = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        const found = await findProducts(db, [...new Set(batch.flatMap(({ skus }) => skus))]);
        for (const lookup of batch) lookup.resolve(found);
      } catch (error) {
        for (const lookup of batch) lookup.reject(error);
      }
    }
    running = false;
  };
  return (skus) =>
    new Promise((resolve, reject) => {
      waiting.push({ skus, resolve, reject });
      if (!running) void drain();
    });
}
