/**
 * Starts the whole mesh for local use: PostgreSQL and NATS (DATABASE_URL / NATS_URL
 * when given, else an embedded PostgreSQL and a nats-server whose data persist in
 * .shopmesh/), a database per service, the three services as separate processes
 * (the inventory seeds its catalog when empty), the storefront on
 * http://localhost:5173, and prints how to call them.
 * Ctrl-C stops everything it started, services first.
 */
import { fileURLToPath } from "node:url";
import { type PrivateServer, startPrivateNats, startPrivatePostgres } from "@shopmesh/testing";
import { demoToken, devKey, stateDir } from "./dev-identity.js";
import { type LaunchedMesh, launchMesh } from "./mesh-processes.js";
import { startStorefront, storefrontOrigins } from "./storefront.js";

const owned: PrivateServer[] = [];
let mesh: LaunchedMesh | undefined;
let storefront: Awaited<ReturnType<typeof startStorefront>> | undefined;
let stopping = false;

async function main() {
  const postgresUrl =
    process.env.DATABASE_URL ?? (await own(startPrivatePostgres({ dir: dataDir("postgres"), port: 54329 })));
  const natsUrl = process.env.NATS_URL ?? (await own(startPrivateNats({ dir: dataDir("nats"), port: 4229 })));
  mesh = await launchMesh({
    postgresUrl,
    natsUrl,
    authDevKey: devKey(),
    databasePrefix: "shopmesh",
    env: { SEED_CATALOG: "true", CORS_ORIGINS: process.env.CORS_ORIGINS ?? storefrontOrigins.join(",") },
    onLine: (name, line) => console.log(`[${name}] ${line}`),
    onExit: (name, code, signal) => {
      console.error(`✖ ${name} exited (${signal ?? `code ${code}`}); stopping the mesh`);
      void stop(1);
    },
  });
  storefront = await startStorefront();
  await printBanner(postgresUrl, natsUrl);
}

async function printBanner(postgresUrl: string, natsUrl: string) {
  const token = await demoToken("customer", "demo-customer");
  const place = JSON.stringify({
    idempotencyKey: `demo-${Date.now()}`,
    items: [{ sku: "SKU-000001", quantity: 1 }],
    paymentToken: "tok_visa",
  });
  console.log(`
shopmesh is running.
  storefront ${storefront?.url}   (sign in as the demo customer; test cards on the checkout page)
  order      gRPC 127.0.0.1:50051   Connect http://127.0.0.1:8081
  inventory  gRPC 127.0.0.1:50052   Connect http://127.0.0.1:8082
  payment    gRPC 127.0.0.1:50053   (internal: gRPC only)
  PostgreSQL ${postgresUrl.replace(/:[^:@/]+@/, ":***@")}   NATS ${natsUrl}

A token for the demo customer (valid 12 h; another: npm run token -- --customer alice):
  export TOKEN=${token}

Browse the catalog (Connect protocol, plain JSON):
  curl -s http://127.0.0.1:8082/shopmesh.inventory.v1.CatalogService/ListProducts \\
    -H 'content-type: application/json' -d '{"pageSize": 3}'

Place an order (Connect JSON), then watch it with GetOrder:
  curl -s http://127.0.0.1:8081/shopmesh.order.v1.OrderService/PlaceOrder \\
    -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \\
    -d '${place}'

The same over gRPC with buf curl (schema from the contracts, no reflection needed):
  npx buf curl --protocol grpc --http2-prior-knowledge --schema proto \\
    -H "authorization: Bearer $TOKEN" -d '${place}' \\
    http://127.0.0.1:50051/shopmesh.order.v1.OrderService/PlaceOrder

Test payment tokens: tok_visa, tok_declined, tok_transient_3 (see services/payment/README.md).
Ctrl-C stops the mesh.
`);
}

async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  await storefront?.close();
  await mesh?.stop();
  await Promise.all(owned.map((server) => server.stop()));
  process.exit(code);
}

async function own(server: Promise<PrivateServer>): Promise<string> {
  const started = await server;
  owned.push(started);
  return started.url;
}

function dataDir(name: string): string {
  return fileURLToPath(new URL(name, stateDir));
}

process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  void stop(1);
});
