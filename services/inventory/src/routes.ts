import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { CatalogService } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import type { ProductSchema, StockLevelSchema } from "@shopmesh/gen/shopmesh/inventory/v1/product_pb.js";
import {
  ReservationStatus,
  type ReserveStockResponseSchema,
  type StockService,
} from "@shopmesh/gen/shopmesh/inventory/v1/stock_service_pb.js";
import { withTx } from "@shopmesh/pg";
import { canonicalUuid } from "@shopmesh/server";
import type pg from "pg";
import { toConnectError } from "./errors.js";
import { batchGetProducts, getProduct } from "./get-products.js";
import { listProducts } from "./list-products.js";
import type { Product } from "./product.js";
import { createProductLookup } from "./product-lookup.js";
import { releaseStock } from "./release-stock.js";
import { reserveStock } from "./reserve-stock.js";
import { getStock, setStock } from "./set-stock.js";
import { onHandOf, type ReservationAnswer, type StockLevel } from "./stock.js";
import type { StockEvents } from "./stock-events.js";

/** What the RPC handlers need. */
export interface RouteDeps {
  readonly pool: pg.Pool;
  readonly events: StockEvents;
}

/** The public catalog: read-only, for anyone. */
export function createCatalogRoutes({ pool }: Pick<RouteDeps, "pool">): ServiceImpl<typeof CatalogService> {
  const lookup = createProductLookup(pool);
  return {
    listProducts: (request) =>
      answer(async () => {
        const page = await listProducts(pool, request);
        return { ...page, products: page.products.map(productToProto) };
      }),
    getProduct: (request) => answer(async () => ({ product: productToProto(await getProduct(lookup, request.sku)) })),
    batchGetProducts: (request) =>
      answer(async () => {
        const { products, missingSkus } = await batchGetProducts(lookup, request.skus);
        return { products: products.map(productToProto), missingSkus };
      }),
  };
}

/** Internal stock operations (service tokens only, enforced by the auth interceptor). */
export function createStockRoutes({ pool, events }: RouteDeps): ServiceImpl<typeof StockService> {
  return {
    reserveStock: (request) =>
      answer(async () => {
        const items = request.items.map(({ sku, quantity }) => ({ sku, quantity }));
        const orderId = canonicalUuid(request.orderId);
        return answerToProto(await withTx(pool, (tx) => reserveStock(tx, events, { orderId, items })));
      }),
    releaseStock: (request) =>
      answer(async () => ({
        released: await withTx(pool, (tx) => releaseStock(tx, events, canonicalUuid(request.orderId))),
      })),
    setStock: (request) =>
      answer(async () => ({
        stock: stockLevelToProto(
          await setStock(pool, request.sku, {
            onHand: request.onHand,
            expectedOnHand: request.expectedOnHand,
            expectedVersion: request.expectedOnHandVersion,
          }),
        ),
      })),
    getStock: (request) => answer(async () => ({ stock: stockLevelToProto(await getStock(pool, request.sku)) })),
  };
}

async function answer<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toConnectError(error);
  }
}

function productToProto(product: Product): MessageInitShape<typeof ProductSchema> {
  return {
    sku: product.sku,
    name: product.name,
    description: product.description,
    category: product.category,
    price: { amountMinor: product.price.amountMinor, currencyCode: product.price.currency },
    available: product.available,
    updateTime: timestampFromDate(product.updatedAt),
  };
}

const statuses = {
  reserved: ReservationStatus.RESERVED,
  rejected: ReservationStatus.REJECTED,
  released: ReservationStatus.RELEASED,
} as const;

function answerToProto(outcome: ReservationAnswer): MessageInitShape<typeof ReserveStockResponseSchema> {
  return { status: statuses[outcome.status], shortages: outcome.status === "rejected" ? [...outcome.shortages] : [] };
}

function stockLevelToProto(level: StockLevel): MessageInitShape<typeof StockLevelSchema> {
  return {
    sku: level.sku,
    onHand: onHandOf(level),
    reserved: level.reserved,
    available: level.available,
    onHandVersion: level.onHandVersion,
  };
}
