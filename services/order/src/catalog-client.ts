import { Code, ConnectError } from "@connectrpc/connect";
import { CatalogService } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import { createGrpcClient } from "@shopmesh/server";
import { OrderError } from "./errors.js";

/** What the catalog says about a product when an order is priced. */
export interface CatalogEntry {
  readonly name: string;
  readonly priceMinor: bigint;
  readonly currency: string;
  readonly available: bigint;
}

/** The catalog as the order service needs it: authoritative prices and availability. */
export interface CatalogPort {
  /** Entries of the SKUs found (missing SKUs are absent from the map). */
  lookup(skus: readonly string[], timeoutMs: number): Promise<Map<string, CatalogEntry>>;
  close(): void;
}

/** The catalog over gRPC (inventory's CatalogService), every call with a deadline. */
export function createCatalogClient(target: string): CatalogPort {
  const client = createGrpcClient(CatalogService, { target });
  return {
    async lookup(skus, timeoutMs) {
      try {
        const { products } = await client.batchGetProducts({ skus: [...skus] }, { timeoutMs });
        return new Map(
          products.map((product) => [
            product.sku,
            {
              name: product.name,
              priceMinor: product.price?.amountMinor ?? 0n,
              currency: product.price?.currencyCode ?? "",
              available: product.available,
            },
          ]),
        );
      } catch (error) {
        const code = ConnectError.from(error).code;
        if (code === Code.Unavailable || code === Code.DeadlineExceeded) {
          throw new OrderError("ORDER_INVENTORY_UNAVAILABLE", "the catalog is unavailable; try again shortly");
        }
        throw error;
      }
    },
    close: () => client.close(),
  };
}
