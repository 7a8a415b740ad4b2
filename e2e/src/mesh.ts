import { randomBytes } from "node:crypto";
import { signDevToken } from "@shopmesh/auth";
import { CatalogService } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import { StockService } from "@shopmesh/gen/shopmesh/inventory/v1/stock_service_pb.js";
import { OrderService } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import { PaymentService } from "@shopmesh/gen/shopmesh/payment/v1/payment_service_pb.js";
import { inventoryService } from "@shopmesh/inventory";
import { seedCatalog } from "@shopmesh/inventory/seed";
import { orderService } from "@shopmesh/order";
import { createPaymentService } from "@shopmesh/payment";
import { createSimulatedProvider, type SimulatedProvider } from "@shopmesh/payment/simulator";
import { createPool } from "@shopmesh/pg";
import { type RunningService, runService, type ServiceDefinition } from "@shopmesh/runtime";
import { createGrpcClient } from "@shopmesh/server";
import { createTestDatabase, createTestNats, freePort, type TestDatabase, type TestNats } from "@shopmesh/testing";
import type pg from "pg";
import type { NewProduct } from "./fixtures.js";

/** The three services of the mesh. */
export type ServiceName = "order" | "inventory" | "payment";
const names: ServiceName[] = ["inventory", "payment", "order"];

/** Listen ports of one service, fixed for the mesh's life so restarts keep their address. */
export interface Ports {
  readonly grpc: number;
  readonly http: number;
}

/** A running mesh of real services on real PostgreSQL databases and one NATS namespace. */
export interface Mesh {
  readonly ports: Record<ServiceName, Ports>;
  readonly pools: Record<ServiceName, pg.Pool>;
  readonly nats: TestNats;
  /** The payment provider the payment service charges through (its ledger is the money truth). */
  readonly provider: SimulatedProvider;
  /** A token for a customer. */
  customerToken(customerId: string): Promise<string>;
  /** A token for a service or operator. */
  serviceToken(): Promise<string>;
  orders(token: string): ReturnType<typeof createGrpcClient<typeof OrderService>>;
  readonly catalog: ReturnType<typeof createGrpcClient<typeof CatalogService>>;
  stock(token: string): ReturnType<typeof createGrpcClient<typeof StockService>>;
  payments(token: string): ReturnType<typeof createGrpcClient<typeof PaymentService>>;
  /** Writes products (and their available units) into the inventory database. */
  seed(products: readonly NewProduct[]): Promise<void>;
  /** Stops one service gracefully, as SIGTERM would. */
  stop(name: ServiceName): Promise<void>;
  /** Starts a stopped service again with the same configuration. */
  start(name: ServiceName): Promise<void>;
  /** Stops everything and removes the databases and streams. */
  close(): Promise<void>;
}

/**
 * Starts inventory, payment and order in this process, each with its own fresh
 * database, sharing a NATS namespace, wired to each other over real gRPC. `env`
 * adds settings for every service (the browser tests set CORS_ORIGINS); `natsUrl`
 * puts the namespace on another NATS server than the shared one (one a test restarts).
 */
export async function startMesh(label: string, env: Record<string, string> = {}, natsUrl?: string): Promise<Mesh> {
  const nats = createTestNats(label, natsUrl);
  const databases = Object.fromEntries(
    await Promise.all(names.map(async (name) => [name, await createTestDatabase(`${label}_${name}`)] as const)),
  ) as Record<ServiceName, TestDatabase>;
  const ports = Object.fromEntries(
    await Promise.all(names.map(async (name) => [name, { grpc: await freePort(), http: await freePort() }] as const)),
  ) as Record<ServiceName, Ports>;
  const key = randomBytes(32);
  const provider = createSimulatedProvider();
  const definitions: Record<ServiceName, ServiceDefinition<never>> = {
    inventory: inventoryService as unknown as ServiceDefinition<never>,
    payment: createPaymentService({ provider }) as unknown as ServiceDefinition<never>,
    order: orderService as unknown as ServiceDefinition<never>,
  };
  const envOf = (name: ServiceName) => ({
    DATABASE_URL: databases[name].url,
    NATS_URL: nats.url,
    EVENT_NAMESPACE: nats.prefix,
    GRPC_ADDRESS: `127.0.0.1:${ports[name].grpc}`,
    HTTP_ADDRESS: `127.0.0.1:${ports[name].http}`,
    AUTH_DEV_KEY: key.toString("base64url"),
    INVENTORY_TARGET: `127.0.0.1:${ports.inventory.grpc}`,
    SHUTDOWN_GRACE_MS: "3000",
    LOG_LEVEL: process.env.LOG_LEVEL ?? "error",
    ...env,
  });
  const running = new Map<ServiceName, RunningService>();
  const start = async (name: ServiceName) => {
    running.set(name, await runService(definitions[name], envOf(name)));
  };
  // A port freePort() answered may be taken by another process before the service
  // listens; the first start then moves to fresh ports (restarts keep theirs).
  const startOnFreePorts = async (name: ServiceName) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await start(name);
      } catch (error) {
        if (attempt === 3 || !String(error).includes("EADDRINUSE")) throw error;
        ports[name] = { grpc: await freePort(), http: await freePort() };
      }
    }
  };
  const stop = async (name: ServiceName) => {
    await running.get(name)?.close();
    running.delete(name);
  };
  const pools = Object.fromEntries(
    names.map((name) => [name, createPool({ url: databases[name].url, applicationName: "e2e", onError: () => {} })]),
  ) as Record<ServiceName, pg.Pool>;
  const clients: { close(): void }[] = [];
  const client = <C extends { close(): void }>(created: C) => {
    clients.push(created);
    return created;
  };
  const token = (role: "customer" | "service", subject: string) =>
    signDevToken(key, { role, subject, issuer: "shopmesh-dev", audience: "shopmesh" });
  const bearer = (value: string) => ({ headers: () => ({ authorization: `Bearer ${value}` }) });
  const target = (name: ServiceName) => `127.0.0.1:${ports[name].grpc}`;

  for (const name of names) await startOnFreePorts(name);
  return {
    ports,
    pools,
    nats,
    provider,
    customerToken: (customerId) => token("customer", customerId),
    serviceToken: () => token("service", "e2e-operator"),
    orders: (value) => client(createGrpcClient(OrderService, { target: target("order"), ...bearer(value) })),
    catalog: client(createGrpcClient(CatalogService, { target: target("inventory") })),
    stock: (value) => client(createGrpcClient(StockService, { target: target("inventory"), ...bearer(value) })),
    payments: (value) => client(createGrpcClient(PaymentService, { target: target("payment"), ...bearer(value) })),
    async seed(products) {
      await seedCatalog(pools.inventory, products);
    },
    stop,
    start,
    async close() {
      for (const created of clients) created.close();
      try {
        // Every service is stopped, whichever failed before it.
        const failures: unknown[] = [];
        for (const name of [...running.keys()].reverse()) {
          await stop(name).catch((error: unknown) => {
            running.delete(name);
            failures.push(error);
          });
        }
        if (failures.length > 0) throw new AggregateError(failures, "a service's shutdown failed");
      } finally {
        // A service whose shutdown failed (and fails the test) leaves nothing behind.
        await Promise.all(Object.values(pools).map((pool) => pool.end()));
        await Promise.all(Object.values(databases).map((database) => database.drop()));
        await nats.cleanup();
      }
    },
  };
}
