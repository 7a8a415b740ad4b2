import { z } from "@shopmesh/config";
import { CatalogService } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import { StockService } from "@shopmesh/gen/shopmesh/inventory/v1/stock_service_pb.js";
import type { ServiceDefinition } from "@shopmesh/runtime";
import { registerService } from "@shopmesh/server";
import { createOrderEventsConsumer } from "./consumers.js";
import { createCatalogRoutes, createStockRoutes } from "./routes.js";
import { seedCatalog } from "./seed.js";
import { createStockEvents } from "./stock-events.js";

/** The inventory service's own environment variables. */
const settings = {
  /** Seed the default catalog at start when the catalog is empty. */
  SEED_CATALOG: z.stringbool().default(false),
};

/**
 * The inventory service: the public catalog (CatalogService), internal stock
 * operations (StockService), and the inventory step of the checkout saga (consumer
 * "inventory" of ORDERS, publishing to INVENTORY through the outbox).
 *
 * ```ts
 * const service = await runService(inventoryService, process.env);
 * ```
 */
export const inventoryService: ServiceDefinition<typeof settings> = {
  name: "inventory",
  defaults: { grpcAddress: "0.0.0.0:50052", httpAddress: "0.0.0.0:8082" },
  config: settings,
  migrations: new URL("../migrations/", import.meta.url),
  async build({ pool, outbox, logger, settings }) {
    if (settings.SEED_CATALOG) {
      // Only an empty catalog is seeded: a restart finds its products, and writes none.
      const written = await seedCatalog(pool);
      logger.info({ products: written }, written > 0 ? "catalog seeded" : "catalog already has products; not seeded");
    }
    const events = createStockEvents(outbox);
    return {
      services: [
        registerService(CatalogService, createCatalogRoutes({ pool })),
        registerService(StockService, createStockRoutes({ pool, events })),
      ],
      consumers: [createOrderEventsConsumer({ events, logger })],
    };
  },
};
