import { CatalogService } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import { registerService, startServer } from "@shopmesh/server";
import { freePort } from "@shopmesh/testing";
import { pino } from "pino";

/**
 * A real gRPC inventory whose BatchGetProducts prices every SKU at 100 USD once
 * `beforeAnswer` resolves (a delay, say), or fails as it throws (inventory's own fault).
 */
export async function startStubInventory(beforeAnswer: () => Promise<unknown>) {
  const port = await freePort();
  const server = await startServer({
    logger: pino({ level: "silent" }),
    grpcAddress: `127.0.0.1:${port}`,
    httpAddress: "127.0.0.1:0",
    shutdownGraceMs: 200,
    services: [
      registerService(CatalogService, {
        getProduct: () => ({}),
        listProducts: () => ({ products: [] }),
        batchGetProducts: async ({ skus }) => {
          await beforeAnswer();
          return {
            products: skus.map((sku) => ({ sku, name: sku, price: { amountMinor: 100n, currencyCode: "USD" } })),
          };
        },
      }),
    ],
  });
  server.markServing();
  return { target: `127.0.0.1:${port}`, close: () => server.close() };
}
