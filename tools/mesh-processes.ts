/**
 * Runs the three services as separate processes against given PostgreSQL and NATS
 * servers: a database per service, health-checked until SERVING. Used by
 * `npm start` and `npm run bench`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Health, HealthCheckResponse_ServingStatus } from "@shopmesh/gen/grpc/health/v1/health_pb.js";
import { databaseUrl, ensureDatabase } from "@shopmesh/pg";
import { createGrpcClient } from "@shopmesh/server";
import { freePort, waitFor } from "@shopmesh/testing";
import pg from "pg";

export type ServiceName = "order" | "inventory" | "payment";

/**
 * The Node flags a service runs with in production (the container images set the
 * same): a V8 heap capped well inside the container's memory limit, so the garbage
 * collector works before the process grows, and a young generation of 16 MB
 * semi-spaces. Node 24 sizes that generation itself (up to 64 MB semi-spaces); under
 * this cap the services then spent five times the CPU per order, most of it in the
 * garbage collector (docs/performance.md, 2026-12-07 morning). 16 MB was Node 20's.
 */
export const productionNodeFlags = ["--max-old-space-size=128", "--max-semi-space-size=16"];

/** The ports of one service. */
export interface ServicePorts {
  readonly grpc: number;
  readonly http: number;
  readonly metrics: number;
}

/** Where a launched service listens, and its process. */
export interface LaunchedService {
  readonly name: ServiceName;
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Where Prometheus scrapes it: http://127.0.0.1:<metricsPort>/metrics. */
  readonly metricsPort: number;
  readonly process: ChildProcess;
}

/** What to launch the mesh against. */
export interface LaunchOptions {
  readonly postgresUrl: string;
  readonly natsUrl: string;
  readonly authDevKey: string;
  /** Database names are `${databasePrefix}_${service}`. */
  readonly databasePrefix: string;
  /** Base ports: order gRPC at grpcBase + 1, inventory + 2, payment + 3 (HTTP likewise). */
  readonly grpcBase?: number;
  readonly httpBase?: number;
  /** Exact ports per service, instead of the bases (tests pick free ones). */
  readonly ports?: Readonly<Record<ServiceName, ServicePorts>>;
  /** Base port of the Prometheus endpoints: order at metricsBase + 1 and so on (default 9463). */
  readonly metricsBase?: number;
  /** Run the compiled services (`npm run build` first) instead of their TypeScript sources. */
  readonly compiled?: boolean;
  /** Extra node flags, such as `--cpu-prof`. */
  readonly nodeFlags?: readonly string[];
  /** Extra environment for every service (EVENT_NAMESPACE, LOG_LEVEL, …). */
  readonly env?: Record<string, string>;
  /** Where a service's output lines go. */
  readonly onLine: (service: ServiceName, line: string) => void;
  /** Called when a service exits on its own. */
  readonly onExit: (service: ServiceName, code: number | null, signal: NodeJS.Signals | null) => void;
  /** Aborting it while the mesh starts stops what has started, and launchMesh rejects. */
  readonly signal?: AbortSignal;
}

/** Every service of the mesh. */
export const meshServiceNames: readonly ServiceName[] = ["order", "inventory", "payment"];

/** A free port for every listener of every service (see freePort): a mesh that shares the machine with others. */
export async function freeMeshPorts(): Promise<Record<ServiceName, ServicePorts>> {
  const ports = async (): Promise<ServicePorts> => ({
    grpc: await freePort(),
    http: await freePort(),
    metrics: await freePort(),
  });
  return { order: await ports(), inventory: await ports(), payment: await ports() };
}

/** Drops the databases launchMesh created under `databasePrefix` (stop the mesh first). */
export async function dropMeshDatabases(postgresUrl: string, databasePrefix: string): Promise<void> {
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    for (const name of meshServiceNames) {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(`${databasePrefix}_${name}`)} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}

/** How a service ended. */
export interface ServiceExit {
  readonly name: ServiceName;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The running mesh. */
export interface LaunchedMesh {
  readonly services: readonly LaunchedService[];
  /** SIGTERM to every service (SIGKILL after 15 s), waiting for them to exit; how each ended. */
  stop(): Promise<readonly ServiceExit[]>;
}

/**
 * The services of every mesh of this process that are still running. They must not
 * outlive it: when it exits without stopping them (process.exit on a failure, an
 * uncaught error) they get the SIGTERM stop() would have sent. A launcher killed
 * outright cannot do even that; the services notice through their IPC channel
 * (onParentGone in @shopmesh/server) instead.
 */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGTERM");
});

/** Starts inventory, payment and order, and resolves once all report SERVING. */
export async function launchMesh(options: LaunchOptions): Promise<LaunchedMesh> {
  const grpcBase = options.grpcBase ?? 50050;
  const httpBase = options.httpBase ?? 8080;
  const layout = [
    { name: "inventory", offset: 2, env: {} },
    { name: "payment", offset: 3, env: {} },
    {
      name: "order",
      offset: 1,
      env: { INVENTORY_TARGET: `127.0.0.1:${options.ports?.inventory.grpc ?? grpcBase + 2}` },
    },
  ] as const;
  let stopping = false;
  const services: LaunchedService[] = [];
  const starting: StartingService[] = [];
  const stop = async () => {
    stopping = true;
    return Promise.all(services.map(({ name, process: child }) => terminate(name, child)));
  };
  // Whatever fails or is aborted after the first spawn stops what was spawned.
  try {
    for (const { name, offset, env } of layout) {
      options.signal?.throwIfAborted();
      const database = `${options.databasePrefix}_${name}`;
      await ensureDatabase(options.postgresUrl, database);
      const grpcPort = options.ports?.[name].grpc ?? grpcBase + offset;
      const httpPort = options.ports?.[name].http ?? httpBase + offset;
      const metricsPort = options.ports?.[name].metrics ?? (options.metricsBase ?? 9463) + offset;
      // Telemetry is imported before the service, as the images do, so `pg` is instrumented.
      const entry = options.compiled
        ? [
            "--import",
            "@shopmesh/telemetry/register",
            fileURLToPath(new URL(`../services/${name}/dist/main.js`, import.meta.url)),
          ]
        : [
            "--conditions=@shopmesh/source",
            "--import",
            "tsx",
            "--import",
            "@shopmesh/telemetry/register",
            fileURLToPath(new URL(`../services/${name}/src/main.ts`, import.meta.url)),
          ];
      const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...entry], {
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl(options.postgresUrl, database),
          NATS_URL: options.natsUrl,
          GRPC_ADDRESS: `0.0.0.0:${grpcPort}`,
          HTTP_ADDRESS: `0.0.0.0:${httpPort}`,
          AUTH_DEV_KEY: options.authDevKey,
          OTEL_SERVICE_NAME: name,
          OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
          ...env,
          ...options.env,
        },
        // The IPC channel is how a service learns that this process is gone.
        stdio: ["ignore", "pipe", "pipe", "ipc"],
        // Its own process group: a terminal's Ctrl-C meant for the launcher must not reach
        // the services too, or the SIGTERM of stop() comes as a second signal, which cuts
        // their graceful shutdown short. The launcher stops them; they never outlive it.
        detached: true,
      });
      running.add(child);
      const recentOutput: string[] = [];
      for (const stream of [child.stdout, child.stderr]) {
        stream?.on("data", (chunk: Buffer) => {
          for (const line of chunk.toString().trimEnd().split("\n")) {
            recentOutput.push(line);
            if (recentOutput.length > recentLines) recentOutput.shift();
            options.onLine(name, line);
          }
        });
      }
      child.once("exit", (code, signal) => {
        running.delete(child);
        if (!stopping) options.onExit(name, code, signal);
      });
      services.push({ name, grpcPort, httpPort, metricsPort, process: child });
      starting.push({ name, grpcPort, process: child, recentOutput });
    }
    for (const service of starting) await untilServing(service, options.signal);
  } catch (error) {
    await stop();
    throw error;
  }
  return { services, stop };
}

function terminate(name: ServiceName, child: ChildProcess): Promise<ServiceExit> {
  return new Promise((resolve) => {
    const ended = () => resolve({ name, code: child.exitCode, signal: child.signalCode });
    if (child.exitCode !== null || child.signalCode !== null) return ended();
    const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", () => {
      clearTimeout(kill);
      ended();
    });
    child.kill("SIGTERM");
  });
}

/** Lines of a service's output kept to explain why it did not start. */
const recentLines = 40;

interface StartingService {
  readonly name: ServiceName;
  readonly grpcPort: number;
  readonly process: ChildProcess;
  /** Its last lines of output, for the error when it does not start. */
  readonly recentOutput: readonly string[];
}

/**
 * Waits until a service reports SERVING. A service that exits first fails at once,
 * and one that exits or times out fails with its last output: a test harness whose
 * caller collects the lines (or drops them) still says why. An abort fails at once too.
 */
async function untilServing(
  { name, grpcPort, process: child, recentOutput }: StartingService,
  signal: AbortSignal | undefined,
) {
  const health = createGrpcClient(Health, { target: `127.0.0.1:${grpcPort}`, defaultTimeoutMs: 500 });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const failure = (what: string) =>
    `${name} ${what} before reporting SERVING on :${grpcPort}; its last output:\n${recentOutput.join("\n")}`;
  try {
    const outcome = await waitFor(
      async () => {
        if (signal?.aborted) return "aborted";
        if (exited()) return "exited";
        const { status } = await health.check({ service: "" });
        return status === HealthCheckResponse_ServingStatus.SERVING && "serving";
      },
      { timeoutMs: 90_000, intervalMs: 250, description: `${name} to report SERVING on :${grpcPort}` },
    ).catch((error: unknown) => {
      throw new Error(failure("did not start in 90 s"), { cause: error });
    });
    if (outcome === "aborted") throw new Error(`the mesh was stopped while ${name} was starting`);
    if (outcome === "exited") throw new Error(failure(`exited (${child.signalCode ?? `code ${child.exitCode}`})`));
  } finally {
    health.close();
  }
}
