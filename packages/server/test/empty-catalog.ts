import { CatalogService } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import { pino } from "pino";
import { type RunningServer, registerService, startServer } from "../src/index.js";

/** A serving catalog on free ports that answers everything empty. */
export async function startEmptyCatalog(options: { shutdownGraceMs?: number } = {}): Promise<RunningServer> {
  const server = await startServer({
    logger: pino({ level: "silent" }),
    grpcAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    ...options,
    services: [
      registerService(CatalogService, {
        getProduct: () => ({}),
        listProducts: () => ({ products: [] }),
        batchGetProducts: () => ({ products: [] }),
      }),
    ],
  });
  server.markServing();
  return server;
}
