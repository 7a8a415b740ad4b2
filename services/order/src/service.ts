import { grpcTarget, positiveInt, z } from "@shopmesh/config";
import { OrderService } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import type { ServiceDefinition } from "@shopmesh/runtime";
import { registerService } from "@shopmesh/server";
import { createCatalogClient } from "./catalog-client.js";
import { orderConsumers } from "./consumers.js";
import { orderMetrics } from "./order-metrics.js";
import { createOrderWatcher } from "./order-watch.js";
import { createOrderRoutes } from "./routes.js";

const config = {
  /** Where inventory's gRPC listeners are: one address, or every replica (dns:///, ipv4:), balanced per call. */
  INVENTORY_TARGET: grpcTarget().default("127.0.0.1:50052"),
  /** Longest PlaceOrder waits for catalog prices. */
  INVENTORY_TIMEOUT_MS: positiveInt().max(60_000).default(1_000),
  /** How old a remembered catalog price may be to accept an order while inventory is unavailable (0: never). */
  CATALOG_STALE_TTL_MS: z.coerce.number().int().min(0).default(600_000),
};

/** The order service: OrderService RPCs and the order side of the checkout saga. */
export const orderService: ServiceDefinition<typeof config> = {
  name: "order",
  defaults: { grpcAddress: "0.0.0.0:50051", httpAddress: "0.0.0.0:8081" },
  config,
  migrations: new URL("../migrations/", import.meta.url),
  // The LISTEN connection WatchOrder streams share (order-watch.ts), open while any runs.
  ownConnections: 1,
  async build({ config: common, settings, pool, outbox, logger }) {
    orderMetrics.declare();
    const catalog = createCatalogClient(settings.INVENTORY_TARGET, settings.CATALOG_STALE_TTL_MS);
    const watcher = createOrderWatcher(pool, common.DATABASE_URL, logger);
    const routes = createOrderRoutes({
      pool,
      outbox,
      catalog,
      catalogTimeoutMs: settings.INVENTORY_TIMEOUT_MS,
      watcher,
      logger,
    });
    return {
      services: [registerService(OrderService, routes)],
      consumers: orderConsumers(outbox, logger),
      async close() {
        catalog.close();
        await watcher.close();
      },
    };
  },
};
