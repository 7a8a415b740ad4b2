/**
 * Seeds the default catalog into DATABASE_URL (`npm run seed -w @shopmesh/inventory`):
 * applies the migrations first, then writes the catalog if it is empty.
 */
import { fileURLToPath } from "node:url";
import { loadConfig, urlWithScheme } from "@shopmesh/config";
import { createPool, migrate } from "@shopmesh/pg";
import { seedCatalog } from "./seed.js";
import { inventoryService } from "./service.js";

const { DATABASE_URL } = loadConfig({ DATABASE_URL: urlWithScheme("postgres", "postgresql") });
await migrate({
  databaseUrl: DATABASE_URL,
  dir: [fileURLToPath(import.meta.resolve("@shopmesh/events/migrations")), fileURLToPath(inventoryService.migrations)],
});
const pool = createPool({
  url: DATABASE_URL,
  applicationName: "inventory-seed",
  onError: (error) => console.error("idle database connection failed", error),
});
try {
  const written = await seedCatalog(pool);
  console.log(written > 0 ? `seeded ${written} products` : "the catalog is not empty; nothing seeded");
} finally {
  await pool.end();
}
