import { decodePageToken, encodePageToken } from "./page-token.js";
import type { Product } from "./product.js";
import { findProductPage, type Queryable } from "./product-store.js";

/** Page size when the caller asks for none. */
export const defaultPageSize = 24;
/** The largest page answered. */
export const maxPageSize = 100;

/** Asks for a page of the catalog. */
export interface ListProductsRequest {
  /** 0 for the default. */
  readonly pageSize: number;
  /** Empty for the first page. */
  readonly pageToken: string;
  /** Case-insensitive text in name, description or category; empty for all. */
  readonly query: string;
}

/** A page of the catalog. */
export interface ProductPage {
  readonly products: readonly Product[];
  /** Empty on the last page. */
  readonly nextPageToken: string;
  /** How many products match the query in all. */
  readonly totalSize: number;
}

/**
 * Answers a page of the catalog in SKU order (keyset paging: stable while stock
 * changes). Fails with CATALOG.INVALID_PAGE_TOKEN for a token of another query.
 */
export async function listProducts(db: Queryable, request: ListProductsRequest): Promise<ProductPage> {
  const pageSize = request.pageSize > 0 ? Math.min(request.pageSize, maxPageSize) : defaultPageSize;
  const afterSku = decodePageToken(request.pageToken, request.query);
  const { products, total } = await findProductPage(db, {
    text: request.query.trim(),
    afterSku,
    limit: pageSize + 1,
  });
  const page = products.slice(0, pageSize);
  const last = page.at(-1);
  const more = products.length > pageSize && last !== undefined;
  return { products: page, totalSize: total, nextPageToken: more ? encodePageToken(last.sku, request.query) : "" };
}
