/**
 * The whole mesh for local use, as `npm start` runs it (tools/start-mesh.ts):
 * PostgreSQL and NATS (DATABASE_URL / NATS_URL when given, else an embedded PostgreSQL
 * and a nats-server whose data persist in .shopmesh/), a database per service, the
 * three services as separate processes (the inventory seeds its catalog when empty),
 * the storefront, and how to call them. SIGINT, SIGTERM or SIGHUP stops everything it
 * started, services first, then exits.
 */
import { createConnection } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { onParentGone } from "@shopmesh/server";
import { traceExporters, tracesOff } from "@shopmesh/telemetry/exporters";
import { type PrivateServer, startPrivateNats, startPrivatePostgres } from "@shopmesh/testing";
import { demoToken, devKey, stateDir } from "./dev-identity.js";
import {
  type LaunchedMesh,
  type LaunchedService,
  launchMesh,
  type ServiceName,
  type ServicePorts,
} from "./mesh-processes.js";
import { startStorefront, storefrontOrigins, storefrontPort } from "./storefront.js";

/** Where the local mesh listens; the defaults are the documented fixed ports. */
export interface LocalMeshOptions {
  /** Every listener of every service (default: gRPC 50051–50053, HTTP 8081–8083, metrics 9464–9466). */
  readonly ports?: Readonly<Record<ServiceName, ServicePorts>>;
  /** The storefront's port (default 5173). */
  readonly storefrontPort?: number;
  /** Database names are `${databasePrefix}_${service}` (default "shopmesh"). */
  readonly databasePrefix?: string;
  /**
   * Where the embedded PostgreSQL and nats-server keep their data and listen, when
   * DATABASE_URL / NATS_URL are not given (default: .shopmesh/, ports 54329 and 4229).
   */
  readonly privateServers?: { readonly dir: string; readonly postgresPort: number; readonly natsPort: number };
}

/** The embedded servers this run started or is starting: stop() waits for each, then stops it. */
const owned: Promise<PrivateServer>[] = [];
/** Aborted by stop(): a mesh still starting then stops what it started. */
const launching = new AbortController();
let launch: Promise<LaunchedMesh> | undefined;
let storefront: Awaited<ReturnType<typeof startStorefront>> | undefined;
let stopping = false;

/**
 * Runs the local mesh in this process until a signal, a service's exit or the end of
 * the process that started this one (`npm start`'s wrapper, tools/tsx.mjs) stops it.
 */
export function runLocalMesh(options: LocalMeshOptions = {}): void {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop(0));
  onParentGone(() => void stop(1));
  main(options).catch((error: unknown) => {
    // Once stopping, the failure is the abort stop() caused: it said why already.
    if (!stopping) console.error(error instanceof Error ? error.message : error);
    void stop(1);
  });
}

async function main(options: LocalMeshOptions) {
  const servers = options.privateServers ?? { dir: fileURLToPath(stateDir), postgresPort: 54329, natsPort: 4229 };
  const postgresUrl =
    process.env.DATABASE_URL ??
    (await own(() =>
      startPrivatePostgres({
        dir: join(servers.dir, "postgres"),
        port: servers.postgresPort,
        onLeftoverStopped: console.log,
      }),
    ));
  const natsUrl =
    process.env.NATS_URL ??
    (await own(() =>
      startPrivateNats({ dir: join(servers.dir, "nats"), port: servers.natsPort, onLeftoverStopped: console.log }),
    ));
  const tracing = await tracingEnv();
  const webPort = options.storefrontPort ?? storefrontPort;
  launch = launchMesh({
    postgresUrl,
    natsUrl,
    authDevKey: devKey(),
    databasePrefix: options.databasePrefix ?? "shopmesh",
    ...(options.ports ? { ports: options.ports } : {}),
    env: {
      SEED_CATALOG: "true",
      CORS_ORIGINS: process.env.CORS_ORIGINS ?? storefrontOrigins(webPort).join(","),
      ...tracing,
    },
    onLine: (name, line) => console.log(`[${name}] ${line}`),
    onExit: (name, code, signal) => {
      console.error(`✖ ${name} exited (${signal ?? `code ${code}`}); stopping the mesh`);
      void stop(1);
    },
    signal: launching.signal,
  });
  const mesh = await launch;
  const listening = Object.fromEntries(mesh.services.map((service) => [service.name, service])) as Record<
    ServiceName,
    LaunchedService
  >;
  storefront = await startStorefront({
    tracesUrl: tracesUrl({ ...process.env, ...tracing }),
    port: webPort,
    // On the fixed ports the page finds the services on its own host, whichever name it was opened by.
    ...(options.ports ? { orderUrl: connectUrl(listening.order), catalogUrl: connectUrl(listening.inventory) } : {}),
  });
  await printBanner(listening, postgresUrl, natsUrl, tracing);
}

async function printBanner(
  listening: Record<ServiceName, LaunchedService>,
  postgresUrl: string,
  natsUrl: string,
  tracing: Record<string, string>,
) {
  const grpc = (name: ServiceName) => `127.0.0.1:${listening[name].grpcPort}`;
  const connect = (name: ServiceName) => connectUrl(listening[name]);
  const token = await demoToken("customer", "demo-customer");
  // The services name their streams after it; the CLI finds DEADLETTER only with the same one.
  const namespace = process.env.EVENT_NAMESPACE ? ` EVENT_NAMESPACE=${process.env.EVENT_NAMESPACE}` : "";
  // A key of its own for each command: the same key would answer the first order again
  // (PlaceOrder is idempotent per key), and the gRPC one would place nothing new.
  const place = (key: string) =>
    JSON.stringify({ idempotencyKey: key, items: [{ sku: "SKU-000001", quantity: 1 }], paymentToken: "tok_visa" });
  const started = Date.now();
  console.log(`
shopmesh is running.
  storefront ${storefront?.url}   (sign in as the demo customer; test cards on the checkout page)
  order      gRPC ${grpc("order")}   Connect ${connect("order")}
  inventory  gRPC ${grpc("inventory")}   Connect ${connect("inventory")}
  payment    gRPC ${grpc("payment")}   (internal: gRPC only)
  PostgreSQL ${postgresUrl.replace(/:[^:@/]+@/, ":***@")}   NATS ${natsUrl}
  metrics    ${Object.values(listening)
    .map(({ name, metricsPort }) => `${name} http://127.0.0.1:${metricsPort}/metrics`)
    .join("   ")}
  traces     ${tracesLine({ ...process.env, ...tracing })}

A token for the demo customer (valid 12 h; another: npm run token -- --customer alice):
  export TOKEN=${token}

Browse the catalog (Connect protocol, plain JSON):
  curl -s ${connect("inventory")}/shopmesh.inventory.v1.CatalogService/ListProducts \\
    -H 'content-type: application/json' -d '{"pageSize": 3}'

Place an order (Connect JSON), then watch it with GetOrder:
  curl -s ${connect("order")}/shopmesh.order.v1.OrderService/PlaceOrder \\
    -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \\
    -d '${place(`demo-${started}`)}'
  export ORDER_ID=<the orderId it answered>
  curl -s ${connect("order")}/shopmesh.order.v1.OrderService/GetOrder \\
    -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" \\
    -d "{\\"orderId\\": \\"$ORDER_ID\\"}"

The same over gRPC with buf curl (schema from the contracts, no reflection needed):
  npx buf curl --protocol grpc --http2-prior-knowledge --schema proto \\
    -H "authorization: Bearer $TOKEN" -d '${place(`demo-grpc-${started}`)}' \\
    http://${grpc("order")}/shopmesh.order.v1.OrderService/PlaceOrder

Test payment tokens: tok_visa, tok_declined, tok_transient_3 (see services/payment/README.md).
Events parked in the dead-letter stream (runbook: docs/tracing.md#dead-letters):
  NATS_URL=${natsUrl}${namespace} npm run deadletters
Ctrl-C stops the mesh.
`);
}

/** Where a service answers the Connect protocol. */
function connectUrl(service: LaunchedService): string {
  return `http://127.0.0.1:${service.httpPort}`;
}

/**
 * Traces go where OTEL_* say; when nothing says, to a collector or Jaeger on this
 * machine's OTLP port if one listens (the `docker run` of docs/tracing.md; compose's
 * Jaeger publishes only its UI), else nowhere — rather than failing every export in
 * the background.
 */
async function tracingEnv(): Promise<Record<string, string>> {
  const { OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_TRACES_EXPORTER } = process.env;
  if (OTEL_EXPORTER_OTLP_ENDPOINT || OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || OTEL_TRACES_EXPORTER) return {};
  const listening = await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port: 4318, timeout: 500 });
    const answer = (value: boolean) => {
      socket.destroy();
      resolve(value);
    };
    socket.once("connect", () => answer(true));
    socket.once("error", () => answer(false));
    socket.once("timeout", () => answer(false));
  });
  return listening ? { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" } : { OTEL_TRACES_EXPORTER: "none" };
}

/**
 * The OTLP/HTTP traces endpoint the services export to, if any, for the storefront's
 * spans. None when they export over gRPC: a browser speaks OTLP/HTTP only, and the
 * gRPC endpoint's port does not (STOREFRONT_OTLP_TRACES_URL names one that does).
 */
export function tracesUrl(env: Record<string, string | undefined>): string | undefined {
  if (!exportsOtlp(env)) return undefined;
  if ((env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL) === "grpc") return undefined;
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  return env.OTEL_EXPORTER_OTLP_ENDPOINT
    ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, "")}/v1/traces`
    : undefined;
}

/** The banner's word on where the services' traces go. */
export function tracesLine(env: Record<string, string | undefined>): string {
  const exporters = traceExporters(env);
  if (tracesOff(env)) {
    return "off: start Jaeger (OTLP on :4318) or set OTEL_EXPORTER_OTLP_ENDPOINT, then npm start again";
  }
  if (!exporters.includes("otlp")) return `to ${exporters.join(", ")} (OTEL_TRACES_EXPORTER), not to Jaeger`;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? "http://localhost:4318";
  return `OTLP to ${endpoint} (Jaeger UI http://localhost:16686: search tag shopmesh.order.id=<id>)`;
}

/** Whether the services export traces over OTLP, as the SDK reads OTEL_TRACES_EXPORTER. */
function exportsOtlp(env: Record<string, string | undefined>): boolean {
  return !tracesOff(env) && traceExporters(env).includes("otlp");
}

/** Stops the storefront, then the services, then the PostgreSQL and NATS it started, and exits. */
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  launching.abort();
  await storefront?.close();
  const exits = (await (await launch?.catch(() => undefined))?.stop()) ?? [];
  if (exits.length > 0) {
    const how = exits.map(({ name, code, signal }) => `${name} (${signal ?? `code ${code}`})`).join(", ");
    console.log(`services stopped: ${how}`);
  }
  // A server still starting (Ctrl-C during initdb) is stopped once up, not left running.
  const started = await Promise.allSettled(owned);
  await Promise.all(started.map((server) => (server.status === "fulfilled" ? server.value.stop() : undefined)));
  // A service that did not stop cleanly makes this run a failure, even when asked to stop.
  process.exit(code || (exits.every((exit) => exit.code === 0) ? 0 : 1));
}

async function own(start: () => Promise<PrivateServer>): Promise<string> {
  launching.signal.throwIfAborted();
  const server = start();
  owned.push(server);
  return (await server).url;
}
