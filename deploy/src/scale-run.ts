import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { signDevToken } from "@shopmesh/auth";
import { OrderService } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import { seedCatalog } from "@shopmesh/inventory/seed";
import { createPool } from "@shopmesh/pg";
import { createGrpcClient } from "@shopmesh/server";
import { freePort, waitFor } from "@shopmesh/testing";
import type pg from "pg";
import { type LoadBalancer, startLoadBalancer } from "./load-balancer.js";
import { dropReplicatedMeshDatabases, type ServiceName, serviceNames, startReplicatedMesh } from "./replicated-mesh.js";
import { checkScaleRun, type ScaleFindings } from "./scale-checks.js";

/** How big a scaling run is. */
export interface ScaleRunOptions {
  readonly postgresUrl: string;
  readonly natsUrl: string;
  /** Replicas of each service (≥ 2). */
  readonly replicas?: number;
  readonly orders?: number;
  /** Orders in flight at once. */
  readonly concurrency?: number;
  /** After this many acknowledged orders, one replica of every service is killed (SIGKILL); 0: none. */
  readonly killAfter?: number;
  readonly log?: (line: string) => void;
}

/** What a run showed. */
export interface ScaleReport extends ScaleFindings {
  readonly replicas: number;
  /** The database role of each replica, as the attributions name them. */
  readonly replicaRoles: readonly string[];
  readonly acknowledged: number;
  /** PlaceOrder attempts that failed (a replica died under them) and were resent with the same key. */
  readonly resent: number;
  /** Requests each backend answered through the load balancer, per upstream. */
  readonly edge: Awaited<ReturnType<LoadBalancer["spread"]>>;
  /** The same, counted when the replicas were killed: the spread while all were up. */
  readonly edgeBeforeKill: Awaited<ReturnType<LoadBalancer["spread"]>> | undefined;
  readonly killedReplica: number | undefined;
  readonly placeMs: number;
  readonly settleMs: number;
}

/**
 * The multi-replica run: N replicas of each service as processes behind nginx, orders
 * placed through it over gRPC and Connect, one replica of every service killed
 * mid-run, then the invariants checked once every acknowledged order is final.
 * Everything it creates (databases, roles, streams, nginx, processes) is removed.
 */
export async function runScaleScenario(options: ScaleRunOptions): Promise<ScaleReport> {
  const replicas = options.replicas ?? 2;
  const total = options.orders ?? 120;
  const killAfter = options.killAfter ?? Math.floor(total / 3);
  const log = options.log ?? (() => {});
  const prefix = `scale_${randomUUID().slice(0, 8)}`;
  const namespace = prefix.toUpperCase();
  const key = randomBytes(32);
  const dir = await mkdtemp(`${tmpdir()}/shopmesh-scale-`);
  const nc = await connect({ servers: options.natsUrl.split(","), name: prefix });
  const jsm = await jetstreamManager(nc);
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const mesh = await startReplicatedMesh({
      postgresUrl: options.postgresUrl,
      natsUrl: options.natsUrl,
      prefix,
      replicas,
      authDevKey: key.toString("base64url"),
      log,
    });
    cleanups.push(() => mesh.stop());
    log(`${replicas} replicas of each service are SERVING`);
    const pools = Object.fromEntries(
      serviceNames.map((name) => [
        name,
        createPool({ url: mesh.urls[name], applicationName: "scale", onError: () => {} }),
      ]),
    ) as Record<ServiceName, pg.Pool>;
    cleanups.push(() => Promise.all(Object.values(pools).map((pool) => pool.end())));

    const products = Array.from({ length: 6 }, (_, index) => ({
      sku: `SCALE-${index + 1}`,
      name: `Scale product ${index + 1}`,
      description: "made for the scaling run",
      category: "test",
      price: { amountMinor: 1_000n + BigInt(index) * 250n, currency: "USD" },
      available: 40n,
    }));
    await seedCatalog(pools.inventory, products);
    const initialStock = new Map(products.map((product) => [product.sku, Number(product.available)]));

    const lb = await startLoadBalancer({
      dir,
      grpcPort: await freePort(),
      httpPort: await freePort(),
      upstreams: {
        orderGrpc: mesh.replicas.map((ports) => `127.0.0.1:${ports.grpc.order}`),
        orderConnect: mesh.replicas.map((ports) => `127.0.0.1:${ports.http.order}`),
        catalogConnect: mesh.replicas.map((ports) => `127.0.0.1:${ports.http.inventory}`),
      },
    });
    cleanups.push(() => lb.stop());
    for (let call = 0; call < 10; call++) await listProducts(lb.httpPort);

    const acknowledged = new Set<string>();
    let resent = 0;
    let killedReplica: number | undefined;
    let edgeBeforeKill: ScaleReport["edgeBeforeKill"];
    const grpc = createGrpcClient(OrderService, { target: `127.0.0.1:${lb.grpcPort}`, defaultTimeoutMs: 5_000 });
    cleanups.push(async () => grpc.close());
    const tokens = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        signDevToken(key, {
          role: "customer",
          subject: `scale-${index}`,
          issuer: "shopmesh-dev",
          audience: "shopmesh",
        }),
      ),
    );
    const placeStarted = performance.now();
    let next = 0;
    const worker = async () => {
      for (let index = next++; index < total; index = next++) {
        const request = {
          idempotencyKey: `${prefix}-${index}`,
          items: [{ sku: `SCALE-${(index % 6) + 1}`, quantity: 1 + (index % 2) }],
          // Every seventh card is declined: the cancellation path (release) runs too.
          paymentToken: index % 7 === 3 ? "tok_declined" : "tok_visa",
        };
        const token = tokens[index % tokens.length] ?? "";
        const viaGrpc = index % 2 === 0;
        const orderId = await waitFor(
          async () => {
            try {
              return viaGrpc
                ? (await grpc.placeOrder(request, { headers: { authorization: `Bearer ${token}` } })).order?.orderId
                : await placeOverConnect(lb.httpPort, token, request);
            } catch (error) {
              resent++;
              log(`PlaceOrder ${request.idempotencyKey} failed (${String(error).slice(0, 80)}); resending`);
              return undefined;
            }
          },
          { timeoutMs: 60_000, intervalMs: 200, description: `order ${request.idempotencyKey} to be acknowledged` },
        );
        acknowledged.add(orderId);
        if (killAfter > 0 && acknowledged.size === killAfter) {
          killedReplica = 0;
          const spreadAtKill = lb.spread();
          log(`${killAfter} orders acknowledged: killing replica 1 of every service (SIGKILL)`);
          mesh.kill(0);
          edgeBeforeKill = await spreadAtKill;
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
    const placeMs = performance.now() - placeStarted;
    log(`${acknowledged.size} orders acknowledged in ${Math.round(placeMs)} ms; waiting for every one to be final`);

    const settleStarted = performance.now();
    await waitFor(
      async () => {
        const { rows } = await pools.order.query<{ unfinished: string }>(
          "SELECT count(*) AS unfinished FROM orders WHERE status NOT IN ('confirmed', 'rejected', 'cancelled')",
        );
        const published = await Promise.all(
          serviceNames.map((name) => pools[name].query("SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT 1")),
        );
        return rows[0]?.unfinished === "0" && published.every((result) => result.rowCount === 0);
      },
      // A killed consumer's unacknowledged events come back after ack_wait (30 s), and a
      // killed relay's claimed rows after its lease (30 s).
      { timeoutMs: 150_000, intervalMs: 500, description: "every order final and every outbox row published" },
    );
    const settleMs = performance.now() - settleStarted;
    const findings = await checkScaleRun({ pools, jsm, namespace, acknowledged, initialStock });
    return {
      ...findings,
      replicas,
      replicaRoles: mesh.roles,
      acknowledged: acknowledged.size,
      resent,
      edge: await lb.spread(),
      edgeBeforeKill,
      killedReplica,
      placeMs,
      settleMs,
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => log(`cleanup: ${String(error)}`));
    const streams = await jsm.streams
      .names()
      .next()
      .catch(() => [] as string[]);
    for (const stream of streams.filter((name) => name.startsWith(`${namespace}_`))) await jsm.streams.delete(stream);
    await nc.close();
    await dropReplicatedMeshDatabases(options.postgresUrl, prefix, replicas);
    await rm(dir, { recursive: true, force: true });
  }
}

async function listProducts(port: number) {
  const response = await fetch(`http://127.0.0.1:${port}/shopmesh.inventory.v1.CatalogService/ListProducts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ pageSize: 3 }),
  });
  if (!response.ok) throw new Error(`ListProducts through the load balancer: HTTP ${response.status}`);
}

async function placeOverConnect(port: number, token: string, request: object): Promise<string | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/shopmesh.order.v1.OrderService/PlaceOrder`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(request),
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await response.json()) as { order?: { orderId?: string }; message?: string };
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${body.message ?? ""}`);
  return body.order?.orderId;
}
