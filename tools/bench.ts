/**
 * `npm run bench`: the checkout benchmark. Starts the three services as separate
 * processes (on DATABASE_URL / NATS_URL, else the local servers, else embedded ones),
 * raises stock so nothing is rejected, and places orders over gRPC:
 *   --mode closed   N customers (`--concurrency`, 128), each placing an order and waiting
 *                   for its final state before the next (orders in flight bounded by N:
 *                   sustained throughput — as long as N / checkout latency exceeds what the
 *                   mesh can do; 64 customers at ~140 ms measured latency, not capacity);
 *   --mode open     a fixed arrival rate, latency measured from the intended send time
 *                   (no coordinated omission);
 *   --mode both     closed, then open (default);
 *   --mode tracing  the closed loop with no telemetry at all, 100% sampled and 10%
 *                   sampled (parent-based), `--rounds N` times, each run between two
 *                   with tracing off (metrics only); the overhead of each is the median,
 *                   over rounds, of its rate against the mean of the two runs around it.
 * Spans go to an OTLP sink in this process; except in tracing mode, 10% are sampled.
 * It follows each order to its final state through the order service's events on
 * NATS, and prints orders accepted/s, PlaceOrder p50/p99, confirmed/s end to end,
 * placement→CONFIRMED p50/p99, errors by code and each service's peak RSS, with a
 * progress line every second and a JSON summary line (`BENCH_RESULT {...}`) at the end.
 * `--hops` also follows every event of each checkout and prints the median of each hop
 * (handler wrote the event → it reached NATS → the next handler wrote its own).
 * The services run compiled (it builds them first); `--profile` writes a CPU profile
 * per service to .shopmesh/profiles. `--spans FILE` has them export OTLP/JSON and
 * writes every export the sink receives to FILE, a line each, for
 * `npm run span-report -- FILE` (the spans a checkout makes, where PlaceOrder's time goes).
 */
import { spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { signDevToken } from "@shopmesh/auth";
import { StockService } from "@shopmesh/gen/shopmesh/inventory/v1/stock_service_pb.js";
import { OrderService } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import { databaseUrl } from "@shopmesh/pg";
import { createGrpcClient } from "@shopmesh/server";
import { resolveInfrastructure } from "@shopmesh/testing/global-setup";
import pg from "pg";
import { dropMeshDatabases, type LaunchedMesh, launchMesh, productionNodeFlags } from "./mesh-processes.js";

const { values: args } = parseArgs({
  options: {
    mode: { type: "string", default: "both" },
    duration: { type: "string", default: "20" },
    concurrency: { type: "string", default: "128" },
    rate: { type: "string", default: "250" },
    // The services' first seconds run unoptimised code (V8 compiles hot functions as they run).
    warmup: { type: "string", default: "10" },
    profile: { type: "boolean", default: false },
    rounds: { type: "string", default: "1" },
    hops: { type: "boolean", default: false },
    spans: { type: "string" },
  },
});
const durationMs = Number(args.duration) * 1000;
const warmupMs = Number(args.warmup) * 1000;
const skuCount = 300;

interface Sample {
  sentAt: number;
  acceptedAt?: number;
  finalAt?: number;
  outcome?: "confirmed" | "rejected" | "cancelled";
  /** Per event of the checkout (by subject): when its handler wrote it and when it reached NATS (ms, wall clock). */
  events?: Record<string, { writtenAt: number; seenAt: number }>;
}

/** When the bench saw an event of the checkout reach NATS, or when its handler wrote it (its occur_time). */
const eventAt = (subject: string, at: "writtenAt" | "seenAt") => (s: Sample) => s.events?.[subject]?.[at];

/**
 * The instants of a confirmed checkout in their order (wall-clock ms), each named for
 * the hop that ends there: an event is "written" when its handler builds it inside
 * the transaction and "published" when the bench receives it from NATS.
 */
const checkoutInstants: readonly (readonly [string, (s: Sample) => number | undefined])[] = [
  ["sent", (s) => wallClock(s.sentAt)],
  ["PlaceOrder answered", (s) => wallClock(s.acceptedAt)],
  ["→ orders.placed published", eventAt("orders.placed", "seenAt")],
  ["→ inventory handles it", eventAt("inventory.stock.reserved", "writtenAt")],
  ["→ stock.reserved published", eventAt("inventory.stock.reserved", "seenAt")],
  ["→ payment charged", eventAt("payments.captured", "writtenAt")],
  ["→ payments.captured published", eventAt("payments.captured", "seenAt")],
  ["→ order handles it", eventAt("orders.confirmed", "writtenAt")],
  ["→ orders.confirmed published", eventAt("orders.confirmed", "seenAt")],
];

/** The subjects of the events a checkout publishes (dead letters and others are not followed). */
const checkoutSubjects = new Set([
  "orders.placed",
  "orders.confirmed",
  "orders.rejected",
  "orders.cancelled",
  "inventory.stock.reserved",
  "inventory.stock.rejected",
  "payments.captured",
  "payments.declined",
]);

/**
 * The order id and occur time of any event: every event starts with event_id = 1,
 * order_id = 2, occur_time = 3 (the fields after them differ by type).
 */
function readEnvelope(data: Uint8Array): { orderId: string; occurTime?: Timestamp } {
  const reader = new BinaryReader(data);
  let orderId = "";
  let occurTime: Timestamp | undefined;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 2) orderId = reader.string();
    else if (field === 3) occurTime = fromBinary(TimestampSchema, reader.bytes());
    else reader.skip(wireType);
  }
  return { orderId, occurTime };
}

/** performance.now() as wall-clock ms, comparable with the events' occur times. */
const wallClock = (at: number | undefined) => (at === undefined ? undefined : performance.timeOrigin + at);

interface ScenarioResult {
  scenario: string;
  durationS: number;
  acceptedPerS: number;
  placeOrderP50Ms: number;
  placeOrderP99Ms: number;
  confirmedPerS: number;
  confirmP50Ms: number;
  confirmP99Ms: number;
  errors: Record<string, number>;
  unfinished: number;
  /**
   * The status the order database holds for each unfinished order, counted: a final
   * status means the bench missed its event (a core NATS subscription drops messages
   * for a slow subscriber); any other, that the order is still on its way.
   */
  unfinishedStatuses: Record<string, number>;
  /** CPU time of the three services (user + system) per order confirmed in the window. */
  serviceCpuMsPerOrder: number;
  /** The services' CPU plus PostgreSQL's and NATS's (when they run on this machine). */
  meshCpuMsPerOrder: number;
  /** Times the threads of all those processes went to sleep, per order: the wake-ups an order costs. */
  sleepsPerOrder: number;
  /** The same by service, and for PostgreSQL's and NATS's processes. */
  sleepsPerOrderBy: Record<string, number>;
  /** With --hops, where the time to confirm goes: the median of each hop of the confirmed checkouts (ms). */
  hopsP50Ms: Record<string, number>;
}

const key = randomBytes(32);
const run = randomBytes(4).toString("hex");
const namespace = `BENCH_${run.toUpperCase()}`;
const samples = new Map<string, Sample>();
const finalWaiters = new Map<string, () => void>();

/** How the services trace, by bench variant (`--mode tracing` runs them all). */
const tracingVariants = [
  { name: "no telemetry", env: { OTEL_SDK_DISABLED: "true" } },
  { name: "tracing off", env: { OTEL_TRACES_SAMPLER: "always_off" } },
  { name: "100% sampled", env: { OTEL_TRACES_SAMPLER: "always_on" } },
  { name: "10% sampled", env: { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" } },
] as const;
/**
 * The other modes trace as a production deployment would, 10% of checkouts — or as
 * OTEL_TRACES_SAMPLER (and its argument) in the bench's environment say, which the
 * services inherit.
 */
const defaultVariant: { readonly name: string; readonly env: Record<string, string> } = process.env.OTEL_TRACES_SAMPLER
  ? { name: `sampler ${process.env.OTEL_TRACES_SAMPLER}`, env: {} }
  : tracingVariants[3];
const tracingOff = tracingVariants[1];
type TracingVariant = (typeof tracingVariants)[number];

/**
 * The runs of tracing mode: tracing off, then each other variant followed by tracing
 * off again, `rounds` times. The machine's speed drifts by 10–15% over the minutes a
 * round takes; a variant compared with the runs just before and after it sees that
 * drift on both sides of the comparison, where medians of whole rounds do not.
 */
function tracingSchedule(rounds: number): TracingVariant[] {
  const compared = tracingVariants.filter((variant) => variant !== tracingOff);
  return [
    tracingOff,
    ...Array.from({ length: rounds }, () => compared.flatMap((variant) => [variant, tracingOff])).flat(),
  ];
}

async function main() {
  buildServices();
  const infra = await resolveInfrastructure();
  console.log(infra.summary.replace("test infrastructure", "bench infrastructure"));
  const sink = await startTraceSink();
  const nats = await connect({ servers: infra.natsUrl });
  followOutcomes(nats);
  let current: { mesh?: LaunchedMesh; databasePrefix: string } | undefined;
  const stopMesh = async () => {
    const running = current;
    current = undefined;
    if (!running) return;
    await running.mesh?.stop();
    await removeStreams(nats);
    await dropMeshDatabases(infra.databaseUrl, running.databasePrefix);
  };
  let cleaned: Promise<void> | undefined;
  const cleanUp = () => {
    cleaned ??= (async () => {
      await stopMesh();
      await nats.close();
      await sink.close();
      await infra.stop();
    })();
    return cleaned;
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (cleaned) return;
      console.error(`\n${signal}: removing the bench's services, databases and streams`);
      void cleanUp().finally(() => process.exit(130));
    });
  }
  try {
    const variants = args.mode === "tracing" ? tracingSchedule(Number(args.rounds)) : [defaultVariant];
    const results: ScenarioResult[] = [];
    let rss: Record<string, number> = {};
    for (const [index, variant] of variants.entries()) {
      if (!variant) continue;
      console.log(`\n■ ${variant.name} (${JSON.stringify(variant.env)})`);
      current = { databasePrefix: `bench_${run}_${index}` };
      current.mesh = await startBenchMesh(infra, current.databasePrefix, { ...variant.env, ...sink.env });
      meshServices = new Map(current.mesh.services.map(({ name, process: child }) => [String(child.pid), name]));
      orderDatabaseUrl = databaseUrl(infra.databaseUrl, `${current.databasePrefix}_order`);
      await raiseStock();
      await checkpoint(infra.databaseUrl);
      const label = args.mode === "tracing" ? `${variant.name}: ` : "";
      if (args.mode !== "open") results.push(labelled(label, await closedLoop(Number(args.concurrency))));
      if (args.mode === "open" || args.mode === "both")
        results.push(labelled(label, await openLoop(Number(args.rate))));
      rss = maxRss(rss, peakRss(current.mesh));
      await stopMesh();
    }
    report(results, rss);
    if (args.mode === "tracing") reportTracingOverhead(results, sink.received());
  } finally {
    await cleanUp();
  }
}

function startBenchMesh(
  infra: Awaited<ReturnType<typeof resolveInfrastructure>>,
  databasePrefix: string,
  env: Record<string, string>,
): Promise<LaunchedMesh> {
  return launchMesh({
    postgresUrl: infra.databaseUrl,
    natsUrl: infra.natsUrl,
    authDevKey: key.toString("base64url"),
    databasePrefix,
    grpcBase: 51050,
    httpBase: 9080,
    metricsBase: 9563,
    compiled: true,
    nodeFlags: [
      ...productionNodeFlags,
      ...(args.profile ? ["--cpu-prof", `--cpu-prof-dir=${process.cwd()}/.shopmesh/profiles`] : []),
      // Flags to try on the services (some, like --experimental-async-context-frame, NODE_OPTIONS refuses).
      ...(process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
    ],
    env: {
      EVENT_NAMESPACE: namespace,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "warn",
      SEED_CATALOG: "true",
      DB_POOL_SIZE: "12",
      ...env,
    },
    onLine: (name, line) => console.log(`[${name}] ${line}`),
    onExit: (name, code, signal) => {
      console.error(`✖ ${name} exited (${signal ?? `code ${code}`})`);
      process.exit(1);
    },
  });
}

/**
 * Where the services export spans during a bench: an OTLP/HTTP endpoint in this
 * process that reads and discards them, so exporting costs the services what it
 * would against Jaeger while the sink costs next to nothing.
 */
async function startTraceSink() {
  // The protocol the services use, as OTEL_EXPORTER_OTLP_PROTOCOL says (HTTP only: the sink speaks no gRPC);
  // JSON when the exports are kept, so that they can be read.
  const keepIn = args.spans;
  const protocol = keepIn || process.env.OTEL_EXPORTER_OTLP_PROTOCOL === "http/json" ? "http/json" : "http/protobuf";
  if (keepIn) writeFileSync(keepIn, "");
  let bytes = 0;
  let requests = 0;
  const server = createServer((request, response) => {
    const body: Buffer[] = [];
    request.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      if (keepIn) body.push(chunk);
    });
    request.on("end", () => {
      requests++;
      if (keepIn) appendFileSync(keepIn, `${Buffer.concat(body).toString().replaceAll("\n", " ")}\n`);
      response
        .writeHead(200, { "content-type": protocol === "http/json" ? "application/json" : "application/x-protobuf" })
        .end(protocol === "http/json" ? "{}" : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_PROTOCOL: protocol },
    received: () => ({ requests, megabytes: round(bytes / 1024 / 1024) }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function labelled(label: string, result: ScenarioResult): ScenarioResult {
  return { ...result, scenario: `${label}${result.scenario}` };
}

function maxRss(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(b).map(([name, mb]) => [name, Math.max(mb, a[name] ?? 0)]));
}

/**
 * Confirmed orders per second with no telemetry, 100% and 10% sampling against tracing
 * off: each run against the mean of the tracing-off runs before and after it (see
 * {@link tracingSchedule}), the median over rounds.
 */
function reportTracingOverhead(results: ScenarioResult[], received: { requests: number; megabytes: number }) {
  const median = (
    name: string,
    field: "confirmedPerS" | "serviceCpuMsPerOrder" | "meshCpuMsPerOrder" | "sleepsPerOrder",
  ) => round(middle(results.filter((r) => r.scenario === `${name}: closed`).map((r) => r[field])));
  const rate = (name: string) => median(name, "confirmedPerS");
  const off = rate(tracingOff.name);
  /** Each run of a variant with the mean confirmed/s of the tracing-off runs just before and after it. */
  const withOffAround = (name: string) =>
    results.flatMap((result, index) => {
      const before = results[index - 1]?.confirmedPerS ?? Number.NaN;
      const after = results[index + 1]?.confirmedPerS ?? Number.NaN;
      return result.scenario === `${name}: closed` ? [{ rate: result.confirmedPerS, off: (before + after) / 2 }] : [];
    });
  /** Per cent fewer confirmed/s with a variant than with tracing off around it, median over rounds. */
  const drop = (name: string) => round(middle(withOffAround(name).map(({ rate, off }) => (1 - rate / off) * 100)));
  /** Per cent fewer confirmed/s with tracing off than with no telemetry around it, likewise. */
  const telemetryCost = round(
    middle(withOffAround("no telemetry").map(({ rate: none, off }) => (1 - off / none) * 100)),
  );
  const overhead = { full: drop("100% sampled"), tenth: drop("10% sampled") };
  /** A change in confirmed/s as a signed percentage: "−12%" fewer, "+3%" more. */
  const change = (fewerPercent: number) => `${fewerPercent > 0 ? "−" : "+"}${Math.abs(fewerPercent)}%`;
  console.log(
    `\ntracing overhead (confirmed/s against the tracing-off runs around each run, median over rounds): 100% sampled ${change(overhead.full)}, 10% sampled ${change(overhead.tenth)}`,
  );
  console.log(`telemetry without tracing (metrics, context propagation) against none: ${change(telemetryCost)}`);
  console.log(
    `services' CPU per confirmed order: ${tracingVariants.map(({ name }) => `${name} ${median(name, "serviceCpuMsPerOrder")} ms`).join(", ")}`,
  );
  console.log(
    `with PostgreSQL and NATS: ${tracingVariants.map(({ name }) => `${name} ${median(name, "meshCpuMsPerOrder")} ms`).join(", ")}`,
  );
  console.log(
    `sleeps per confirmed order: ${tracingVariants.map(({ name }) => `${name} ${median(name, "sleepsPerOrder")}`).join(", ")}`,
  );
  console.log(`spans exported: ${received.requests} OTLP requests, ${received.megabytes} MB`);
  console.log(`${overhead.full <= 10 ? "✔" : "✖"} ≤ 10% fewer confirmed/s at 100% sampling`);
  console.log(`${overhead.tenth <= 3 ? "✔" : "✖"} ≤ 3% fewer confirmed/s at 10% sampling`);
  console.log(
    `BENCH_TRACING ${JSON.stringify({ confirmedPerS: { none: rate("no telemetry"), off, full: rate("100% sampled"), tenth: rate("10% sampled") }, overheadPercent: overhead })}`,
  );
}

/** The services run compiled, as in production: build them first. */
function buildServices() {
  const built = spawnSync("npx", ["turbo", "run", "build", "--output-logs=errors-only"], {
    stdio: "inherit",
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  });
  if (built.status !== 0) throw new Error("npm run build failed");
}

const orderTarget = "127.0.0.1:51051";
const customers = Array.from({ length: 50 }, (_, index) => `bench-customer-${index}`);
const tokens = await Promise.all(
  customers.map((customer) =>
    signDevToken(key, { role: "customer", subject: customer, issuer: "shopmesh-dev", audience: "shopmesh" }),
  ),
);
const clients = tokens.map((token) =>
  createGrpcClient(OrderService, {
    target: orderTarget,
    defaultTimeoutMs: 5_000,
    headers: () => ({ authorization: `Bearer ${token}` }),
  }),
);

async function raiseStock() {
  const token = await signDevToken(key, {
    role: "service",
    subject: "bench",
    issuer: "shopmesh-dev",
    audience: "shopmesh",
  });
  const stock = createGrpcClient(StockService, {
    target: "127.0.0.1:51052",
    headers: () => ({ authorization: `Bearer ${token}` }),
  });
  for (let index = 1; index <= skuCount; index++) {
    await stock.setStock({ sku: `SKU-${String(index).padStart(6, "0")}`, onHand: 100_000_000n });
  }
  stock.close();
}

/**
 * Records when each order's final event is published by the order service, and (with
 * `--hops`) when every event of its checkout was written and published. Every
 * event starts with event_id = 1, order_id = 2, occur_time = 3, so one schema reads
 * them all.
 */
function followOutcomes(nats: NatsConnection) {
  const outcomes = new Map(
    (["confirmed", "rejected", "cancelled"] as const).map((outcome) => [`orders.${outcome}`, outcome]),
  );
  // Following every event costs NATS and this process ~8 deliveries per order instead
  // of one: only with --hops.
  const subjects = args.hops ? [`${namespace}.>`] : [...outcomes.keys()].map((subject) => `${namespace}.${subject}`);
  for (const subject of subjects) nats.subscribe(subject, { callback: onEvent });
  function onEvent(_error: unknown, message: Msg) {
    const seenAt = performance.now();
    const subject = message.subject.slice(namespace.length + 1);
    if (!checkoutSubjects.has(subject)) return;
    const { orderId, occurTime } = readEnvelope(message.data);
    // An event can be read before the PlaceOrder answer that names its order (this
    // process is busy): keep it, for placeOne to merge when the answer comes.
    const sample = samples.get(orderId) ?? { sentAt: Number.POSITIVE_INFINITY };
    samples.set(orderId, sample);
    if (occurTime) {
      const writtenAt = Number(occurTime.seconds) * 1000 + occurTime.nanos / 1e6;
      sample.events = { ...sample.events, [subject]: { writtenAt, seenAt: performance.timeOrigin + seenAt } };
    }
    const outcome = outcomes.get(subject);
    if (!outcome) return;
    if (sample.finalAt === undefined) {
      sample.finalAt = seenAt;
      sample.outcome = outcome;
    }
    finalWaiters.get(orderId)?.();
  }
}

/** Places one order; answers its id once accepted (undefined when refused). */
async function placeOne(sentAt: number, errors: Record<string, number>): Promise<string | undefined> {
  const client = clients[Math.floor(Math.random() * clients.length)] ?? clients[0];
  const sku = `SKU-${String(1 + Math.floor(Math.random() * skuCount)).padStart(6, "0")}`;
  try {
    const { order } = (await client?.placeOrder({
      idempotencyKey: randomUUID(),
      items: [{ sku, quantity: 1 }],
      paymentToken: "tok_visa",
    })) ?? { order: undefined };
    const orderId = order?.orderId ?? "";
    const existing = samples.get(orderId);
    samples.set(orderId, { ...existing, sentAt, acceptedAt: performance.now() });
    return orderId;
  } catch (error) {
    const code = Code[ConnectError.from(error).code] ?? "Unknown";
    errors[code] = (errors[code] ?? 0) + 1;
    return undefined;
  }
}

/** Resolves when the order reaches a final state (or after 30 s). */
function finalState(orderId: string): Promise<void> {
  if (samples.get(orderId)?.finalAt !== undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, 30_000);
    function done() {
      clearTimeout(timer);
      finalWaiters.delete(orderId);
      resolve();
    }
    finalWaiters.set(orderId, done);
  });
}

/** The running services' names by process id, for their CPU time and sleeps. */
let meshServices = new Map<string, string>();

/** The running mesh's order database, where unfinished orders are looked up. */
let orderDatabaseUrl = "";

/** How many of these orders the order database holds in each status. */
async function statusesOf(orderIds: readonly string[]): Promise<Record<string, number>> {
  if (orderIds.length === 0) return {};
  const client = new pg.Client({ connectionString: orderDatabaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ status: string; orders: number }>(
      "SELECT status, count(*)::int AS orders FROM orders WHERE order_id = ANY($1::uuid[]) GROUP BY status",
      [orderIds],
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.orders]));
  } finally {
    await client.end();
  }
}

/** What a process has used so far, from /proc. */
interface ProcessUse {
  /** User + system CPU time (clock ticks of 10 ms). */
  readonly cpuMs: number;
  /**
   * Times any of its threads went to sleep waiting (voluntary context switches): each
   * is a wake-up later, and on this machine a wake-up is what an order costs most.
   */
  readonly sleeps: number;
}

function useOf(pid: number | string): ProcessUse {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  let sleeps = 0;
  for (const thread of readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = readFileSync(`/proc/${pid}/task/${thread}/status`, "utf8");
      sleeps += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    } catch {
      // The thread ended while the list was read.
    }
  }
  return { cpuMs: (Number(fields[11]) + Number(fields[12])) * 10, sleeps };
}

/** A process of the mesh: a service (by its name), or PostgreSQL's or NATS's. */
interface MeshProcessUse extends ProcessUse {
  readonly kind: string;
}

/**
 * What the services and PostgreSQL's and NATS's processes on this machine (none when
 * they run elsewhere) have used so far, by process id: everything an order costs.
 */
function meshUse(): Map<string, MeshProcessUse> {
  const byPid = new Map<string, MeshProcessUse>();
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const service = meshServices.get(pid);
      const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      const kind = service ?? (comm.startsWith("postgres") ? "postgres" : comm === "nats-server" ? comm : undefined);
      if (kind) byPid.set(pid, { ...useOf(pid), kind });
    } catch {
      // The process ended while the list was read.
    }
  }
  return byPid;
}

/** What the mesh used over a window: the services' CPU, PostgreSQL's and NATS's, and the sleeps of each kind of process. */
interface WindowUse {
  readonly servicesMs: number;
  readonly infrastructureMs: number;
  readonly sleeps: Record<string, number>;
}

/** Reads what the mesh has used at the start and the end of the measured window. */
function measureUse(warmupEnd: number, end: number): () => WindowUse {
  const at: { start?: ReturnType<typeof meshUse>; end?: ReturnType<typeof meshUse> } = {};
  const timers = [
    setTimeout(() => {
      at.start = meshUse();
    }, warmupEnd - performance.now()),
    setTimeout(() => {
      at.end = meshUse();
    }, end - performance.now()),
  ];
  return () => {
    for (const timer of timers) clearTimeout(timer);
    const used = { servicesMs: 0, infrastructureMs: 0, sleeps: {} as Record<string, number> };
    const { start, end: last } = at;
    if (!start || !last) return used;
    for (const [pid, { cpuMs, sleeps, kind }] of last) {
      const before = start.get(pid) ?? { cpuMs: 0, sleeps: 0 };
      if (meshServices.has(pid)) used.servicesMs += cpuMs - before.cpuMs;
      else used.infrastructureMs += cpuMs - before.cpuMs;
      used.sleeps[kind] = (used.sleeps[kind] ?? 0) + sleeps - before.sleeps;
    }
    return used;
  };
}

async function closedLoop(concurrency: number): Promise<ScenarioResult> {
  console.log(
    `\n▶ closed loop: ${concurrency} customers, each waiting for the final state, ${warmupMs / 1000} s warm-up + ${durationMs / 1000} s`,
  );
  const errors: Record<string, number> = {};
  const warmupEnd = performance.now() + warmupMs;
  const end = warmupEnd + durationMs;
  const progress = startProgress(warmupEnd);
  const use = measureUse(warmupEnd, end);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const orderId = await placeOne(performance.now(), performance.now() < warmupEnd ? {} : errors);
        if (orderId) await finalState(orderId);
      }
    }),
  );
  return finish("closed", warmupEnd, end, errors, progress, use);
}

async function openLoop(rate: number): Promise<ScenarioResult> {
  console.log(`\n▶ open loop: ${rate} orders/s, ${warmupMs / 1000} s warm-up + ${durationMs / 1000} s`);
  const errors: Record<string, number> = {};
  const start = performance.now();
  const warmupEnd = start + warmupMs;
  const end = warmupEnd + durationMs;
  const progress = startProgress(warmupEnd);
  const use = measureUse(warmupEnd, end);
  const inFlight = new Set<Promise<unknown>>();
  let sent = 0;
  while (performance.now() < end) {
    // Order n is due at start + n/rate: the one whose time has come is sent now, not an interval late.
    const due = Math.floor(((performance.now() - start) / 1000) * rate) + 1;
    for (; sent < due; sent++) {
      const sentAt = start + (sent / rate) * 1000;
      const call = placeOne(sentAt, sentAt < warmupEnd ? {} : errors).finally(() => inFlight.delete(call));
      inFlight.add(call);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await Promise.all(inFlight);
  return finish(`open ${rate}/s`, warmupEnd, end, errors, progress, use);
}

function startProgress(measureFrom: number) {
  let last = { accepted: 0, confirmed: 0 };
  const timer = setInterval(() => {
    const counts = count(measureFrom, Number.POSITIVE_INFINITY);
    const pending = [...samples.values()].filter((s) => s.acceptedAt !== undefined && s.finalAt === undefined).length;
    console.log(
      `  ${performance.now() < measureFrom ? "warm-up" : "measure"}  accepted ${counts.accepted - last.accepted}/s  confirmed ${counts.confirmed - last.confirmed}/s  awaiting final ${pending}`,
    );
    last = counts;
  }, 1_000);
  return () => clearInterval(timer);
}

function count(from: number, to: number) {
  let accepted = 0;
  let confirmed = 0;
  for (const sample of samples.values()) {
    if (sample.acceptedAt !== undefined && sample.sentAt >= from && sample.sentAt < to) accepted++;
    if (sample.outcome === "confirmed" && sample.finalAt !== undefined && sample.finalAt >= from && sample.finalAt < to)
      confirmed++;
  }
  return { accepted, confirmed };
}

async function finish(
  scenario: string,
  from: number,
  to: number,
  errors: Record<string, number>,
  stopProgress: () => void,
  use: () => WindowUse,
): Promise<ScenarioResult> {
  const measuredById = [...samples].filter(([, s]) => s.sentAt >= from && s.sentAt < to && s.acceptedAt !== undefined);
  const measured = measuredById.map(([, sample]) => sample);
  const deadline = performance.now() + 60_000;
  while (measured.some((s) => s.finalAt === undefined) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  stopProgress();
  const used = use();
  const confirmedInWindow = count(from, to).confirmed;
  const unfinished = measuredById.filter(([, s]) => s.finalAt === undefined).map(([orderId]) => orderId);
  const placeLatencies = measured.map((s) => (s.acceptedAt ?? 0) - s.sentAt);
  const confirmLatencies = measured.filter((s) => s.outcome === "confirmed").map((s) => (s.finalAt ?? 0) - s.sentAt);
  const seconds = (to - from) / 1000;
  const result = {
    scenario,
    durationS: seconds,
    acceptedPerS: round(measured.length / seconds),
    placeOrderP50Ms: round(percentile(placeLatencies, 0.5)),
    placeOrderP99Ms: round(percentile(placeLatencies, 0.99)),
    confirmedPerS: round(confirmedInWindow / seconds),
    confirmP50Ms: round(percentile(confirmLatencies, 0.5)),
    confirmP99Ms: round(percentile(confirmLatencies, 0.99)),
    errors,
    unfinished: unfinished.length,
    unfinishedStatuses: await statusesOf(unfinished),
    serviceCpuMsPerOrder: round(used.servicesMs / confirmedInWindow),
    meshCpuMsPerOrder: round((used.servicesMs + used.infrastructureMs) / confirmedInWindow),
    sleepsPerOrder: round(Object.values(used.sleeps).reduce((sum, sleeps) => sum + sleeps, 0) / confirmedInWindow),
    sleepsPerOrderBy: Object.fromEntries(
      Object.entries(used.sleeps).map(([kind, sleeps]) => [kind, round(sleeps / confirmedInWindow)]),
    ),
    hopsP50Ms: args.hops ? hopMedians(measured.filter((s) => s.outcome === "confirmed")) : {},
  };
  samples.clear();
  return result;
}

function hopMedians(confirmed: readonly Sample[]): Record<string, number> {
  return Object.fromEntries(
    checkoutInstants.slice(1).map(([name, to], index) => {
      const from = checkoutInstants[index]?.[1] ?? to;
      const durations = confirmed.flatMap((sample) => {
        const [start, end] = [from(sample), to(sample)];
        return start === undefined || end === undefined ? [] : [end - start];
      });
      return [name, round(percentile(durations, 0.5))];
    }),
  );
}

function peakRss(mesh: LaunchedMesh): Record<string, number> {
  return Object.fromEntries(
    mesh.services.map(({ name, process: child }) => {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return [name, round(kb / 1024)];
    }),
  );
}

function report(results: ScenarioResult[], rss: Record<string, number>) {
  console.log(
    "\nscenario        accepted/s  PlaceOrder p50/p99 ms  confirmed/s  place→CONFIRMED p50/p99 ms  errors  unfinished  CPU ms/order: services, all  sleeps/order",
  );
  for (const r of results) {
    console.log(
      `${r.scenario.padEnd(16)}${String(r.acceptedPerS).padStart(10)}  ${`${r.placeOrderP50Ms} / ${r.placeOrderP99Ms}`.padStart(21)}  ${String(r.confirmedPerS).padStart(11)}  ${`${r.confirmP50Ms} / ${r.confirmP99Ms}`.padStart(26)}  ${JSON.stringify(r.errors).padStart(6)}  ${String(r.unfinished).padStart(10)}  ${`${r.serviceCpuMsPerOrder}, ${r.meshCpuMsPerOrder}`.padEnd(29)}  ${r.sleepsPerOrder}`,
    );
  }
  for (const r of results) {
    const sleeps = Object.entries(r.sleepsPerOrderBy).map(([kind, perOrder]) => `${kind} ${perOrder}`);
    console.log(`${r.scenario}: sleeps per order by process: ${sleeps.join(", ")}`);
  }
  for (const r of results.filter((result) => result.unfinished > 0)) {
    console.log(
      `${r.scenario}: unfinished orders by status in the order database: ${JSON.stringify(r.unfinishedStatuses)}`,
    );
  }
  for (const r of args.hops ? results : []) {
    const hops = Object.entries(r.hopsP50Ms).map(([hop, ms]) => `${hop} ${ms}`);
    console.log(`${r.scenario}: median hops of a confirmed checkout (ms): ${hops.join(" ")}`);
  }
  console.log(
    `peak RSS MB: ${Object.entries(rss)
      .map(([name, mb]) => `${name} ${mb}`)
      .join(", ")}`,
  );
  const closed = results.find((r) => r.scenario === "closed");
  const open = results.find((r) => r.scenario.startsWith("open"));
  const targets = {
    "sustained ≥ 500 confirmed/s": closed ? closed.confirmedPerS >= 500 : undefined,
    "PlaceOrder p99 ≤ 20 ms at fixed rate": open ? open.placeOrderP99Ms <= 20 : undefined,
    "place→CONFIRMED p50 ≤ 15 ms at fixed rate": open ? open.confirmP50Ms <= 15 : undefined,
    "place→CONFIRMED p99 ≤ 60 ms at fixed rate": open ? open.confirmP99Ms <= 60 : undefined,
    "no errors at fixed rate": open ? Object.keys(open.errors).length === 0 && open.unfinished === 0 : undefined,
    "≤ 200 MB RSS per service": Object.values(rss).every((mb) => mb <= 200),
  };
  for (const [target, met] of Object.entries(targets)) {
    if (met !== undefined) console.log(`${met ? "✔" : "✖"} ${target}`);
  }
  console.log(`BENCH_RESULT ${JSON.stringify({ results, peakRssMb: rss, targets })}`);
}

async function removeStreams(nats: NatsConnection) {
  const jsm = await jetstreamManager(nats);
  for await (const stream of jsm.streams.list()) {
    if (stream.config.name.startsWith(namespace)) await jsm.streams.delete(stream.config.name);
  }
}

/**
 * Starts a measurement right after a checkpoint: the first write to each page after
 * one logs the whole page, so where a run falls in the checkpoint cycle would
 * otherwise change what PostgreSQL does per order from run to run.
 */
async function checkpoint(adminUrl: string) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query("CHECKPOINT");
  } catch (error) {
    console.log(`(no checkpoint before the run: ${error instanceof Error ? error.message : error})`);
  } finally {
    await client.end();
  }
}

/** The median; with an even number of values, the mean of the middle two (one of them would favour a side). */
function middle(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const upper = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[upper] ?? Number.NaN;
  return ((sorted[upper - 1] ?? Number.NaN) + (sorted[upper] ?? Number.NaN)) / 2;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

main()
  .then(() => {
    for (const client of clients) client.close();
    process.exit(0);
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
