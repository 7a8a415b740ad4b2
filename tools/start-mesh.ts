/**
 * Starts the whole mesh for local use: PostgreSQL and NATS (DATABASE_URL / NATS_URL
 * when given, else an embedded PostgreSQL and a nats-server whose data persist in
 * .shopmesh/), a database per service, the three services as separate processes
 * (the inventory seeds its catalog when empty), and prints how to call them.
 * Ctrl-C stops everything it started, services first.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Health, HealthCheckResponse_ServingStatus } from "@shopmesh/gen/grpc/health/v1/health_pb.js";
import { databaseUrl, ensureDatabase } from "@shopmesh/pg";
import { createGrpcClient } from "@shopmesh/server";
import { type PrivateServer, startPrivateNats, startPrivatePostgres, waitFor } from "@shopmesh/testing";
import { demoToken, devKey, stateDir } from "./dev-identity.js";

const services = [
  { name: "inventory", grpc: 50052, http: 8082, env: { SEED_CATALOG: "true" } },
  { name: "payment", grpc: 50053, http: 8083, env: {} },
  { name: "order", grpc: 50051, http: 8081, env: { INVENTORY_TARGET: "127.0.0.1:50052" } },
] as const;

const owned: PrivateServer[] = [];
const children: ChildProcess[] = [];
let stopping = false;

async function main() {
  const postgresUrl =
    process.env.DATABASE_URL ?? (await own(startPrivatePostgres({ dir: dataDir("postgres"), port: 54329 })));
  const natsUrl = process.env.NATS_URL ?? (await own(startPrivateNats({ dir: dataDir("nats"), port: 4229 })));
  const key = devKey();
  for (const service of services) {
    const name = `shopmesh_${service.name}`;
    await ensureDatabase(postgresUrl, name);
    children.push(
      launch(service.name, {
        DATABASE_URL: databaseUrl(postgresUrl, name),
        NATS_URL: natsUrl,
        GRPC_ADDRESS: `0.0.0.0:${service.grpc}`,
        HTTP_ADDRESS: `0.0.0.0:${service.http}`,
        AUTH_DEV_KEY: key,
        ...service.env,
      }),
    );
  }
  for (const service of services) await untilServing(service.name, service.grpc);
  await printBanner(postgresUrl, natsUrl);
}

function launch(name: string, env: Record<string, string>): ChildProcess {
  const entry = fileURLToPath(new URL(`../services/${name}/src/main.ts`, import.meta.url));
  const child = spawn(process.execPath, ["--conditions=@shopmesh/source", "--import", "tsx", entry], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString().trimEnd().split("\n")) console.log(`[${name}] ${line}`);
    });
  }
  child.once("exit", (code, signal) => {
    if (stopping) return;
    console.error(`✖ ${name} exited (${signal ?? `code ${code}`}); stopping the mesh`);
    void stop(1);
  });
  return child;
}

async function untilServing(name: string, port: number) {
  const health = createGrpcClient(Health, { target: `127.0.0.1:${port}`, defaultTimeoutMs: 500 });
  try {
    await waitFor(
      async () => (await health.check({ service: "" })).status === HealthCheckResponse_ServingStatus.SERVING,
      { timeoutMs: 90_000, intervalMs: 250, description: `${name} to report SERVING on :${port}` },
    );
  } finally {
    health.close();
  }
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
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
          child.once("exit", () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
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
