import { captureCallerContext, type InCallerContext } from "@shopmesh/telemetry";
import type { Product } from "./product.js";
import { findProducts, type Queryable } from "./product-store.js";

/** The products with these SKUs, by SKU (unknown SKUs absent); may hold others too. */
export type ProductLookup = (skus: readonly string[]) => Promise<ReadonlyMap<string, Product>>;

interface Waiting {
  readonly skus: readonly string[];
  readonly inCallerContext: InCallerContext;
  resolve(found: ReadonlyMap<string, Product>): void;
  reject(error: unknown): void;
}

/**
 * Reads products by SKU for the catalog RPCs, one query at a time: lookups that come
 * while a query runs wait for it and are then answered together by the next one.
 * Every PlaceOrder prices its order here, so under load this turns a statement per
 * order into one per handful of orders; an idle service answers at once. Each query
 * shows in the trace of the first call it answers.
 */
export function createProductLookup(db: Queryable): ProductLookup {
  let waiting: Waiting[] = [];
  let running = false;
  const drain = async () => {
    running = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      const skus = [...new Set(batch.flatMap((lookup) => lookup.skus))];
      try {
        const found = await (batch[0]?.inCallerContext ?? captureCallerContext())(() => findProducts(db, skus));
        for (const lookup of batch) lookup.resolve(found);
      } catch (error) {
        for (const lookup of batch) lookup.reject(error);
      }
    }
    running = false;
  };
  return (skus) =>
    new Promise((resolve, reject) => {
      waiting.push({ skus, inCallerContext: captureCallerContext(), resolve, reject });
      if (!running) void drain();
    });
}
