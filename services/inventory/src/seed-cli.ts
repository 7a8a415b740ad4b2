/**
 * Seeds the default catalog into DATABASE_URL (`npm run seed -w @shopmesh/inventory`):
 * applies the migrations first, then writes the catalog if it is empty. Exits 2 when
 * DATABASE_URL is missing or not PostgreSQL's, 1 with the cause when seeding fails:
 * a one-off Kubernetes job's log then says why in a line, not a stack.
 */
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig, urlWithScheme } from "@shopmesh/config";
import { createPool, migrate } from "@shopmesh/pg";
import { seedCatalog } from "./seed.js";
import { inventoryService } from "./service.js";

let databaseUrl: string;
try {
  ({ DATABASE_URL: databaseUrl } = loadConfig({ DATABASE_URL: urlWithScheme("postgres", "postgresql") }));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`${error.message}\nusage: DATABASE_URL=postgres://…/shopmesh_inventory seed-cli`);
  process.exit(2);
}
try {
  await migrate({
    databaseUrl,
    dir: [
      fileURLToPath(import.meta.resolve("@shopmesh/events/migrations")),
      fileURLToPath(inventoryService.migrations),
    ],
    warn: (message) => console.error(`inventory migrations: ${message}`),
  });
  const pool = createPool({
    url: databaseUrl,
    applicationName: "inventory-seed",
    onError: (error) => console.error(`idle database connection failed: ${String(error)}`),
  });
  try {
    const written = await seedCatalog(pool);
    console.log(written > 0 ? `seeded ${written} products` : "the catalog is not empty; nothing seeded");
  } finally {
    await pool.end();
  }
} catch (error) {
  console.error(`seeding the catalog failed: ${String(error)}`);
  process.exitCode = 1;
}
