import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { signDevToken } from "@shopmesh/auth";
import { Health, HealthCheckResponse_ServingStatus } from "@shopmesh/gen/grpc/health/v1/health_pb.js";
import { createGrpcClient, within } from "@shopmesh/server";
import {
  createTestNats,
  freePort,
  startTcpProxy,
  testInfrastructure,
  useTestDatabase,
  useTestNats,
  waitFor,
} from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { type LocalMeshOptions, tracesLine, tracesUrl } from "../../tools/local-mesh.js";
import { dropMeshDatabases, freeMeshPorts, launchMesh } from "../../tools/mesh-processes.js";
import { startOtlpReceiver } from "../src/otlp-receiver.js";

const database = useTestDatabase("process");
const nats = useTestNats("process");
const repositoryRoot = fileURLToPath(new URL("../..", import.meta.url));
const orderMain = join(repositoryRoot, "services/order/src/main.ts");

/**
 * Runs the order service as its own process, as `npm start` and the images do (with
 * `telemetry`, the register file imported first, as they do too).
 */
function runOrderProcess(
  env: Record<string, string>,
  { telemetry = false } = {},
): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const imports = telemetry ? ["--import", "@shopmesh/telemetry/register"] : [];
  const child = spawn(process.execPath, ["--conditions=@shopmesh/source", "--import", "tsx", ...imports, orderMain], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** The order service as a process, once its health check answers SERVING. */
async function servingOrderProcess(natsUrl: string, { env = {}, telemetry = false } = {}) {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const key = randomBytes(32);
  const service = runOrderProcess(
    {
      DATABASE_URL: database.url,
      NATS_URL: natsUrl,
      EVENT_NAMESPACE: nats.prefix,
      GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
      HTTP_ADDRESS: `127.0.0.1:${httpPort}`,
      AUTH_DEV_KEY: key.toString("base64url"),
      ...env,
    },
    { telemetry },
  );
  const health = createGrpcClient(Health, { target: `127.0.0.1:${grpcPort}`, defaultTimeoutMs: 500 });
  try {
    await waitFor(
      async () =>
        (await health.check({ service: "shopmesh.order.v1.OrderService" })).status ===
        HealthCheckResponse_ServingStatus.SERVING,
      { timeoutMs: 30_000, description: "order process SERVING" },
    );
  } catch (error) {
    health.close();
    service.child.kill("SIGKILL");
    throw error;
  }
  return { service, health, httpPort, key };
}

describe("a service as a real process", () => {
  it("serves, then on SIGTERM stops serving, drains and exits 0", async () => {
    const { service, health } = await servingOrderProcess(nats.url);
    try {
      expect(service.child.kill("SIGTERM")).toBe(true);
      expect(await service.exited).toBe(0);
      expect(service.output()).toMatch(/"msg":"shutting down"/);
      expect(service.output()).toMatch(/"msg":"stopped serving"/);
    } finally {
      health.close();
      service.child.kill("SIGKILL");
    }
  });

  it("exits 1 when a step of its shutdown failed (NATS gone: the drain fails), its last spans exported", async () => {
    const proxy = await startTcpProxy(nats.url);
    const receiver = await startOtlpReceiver();
    try {
      const { service, health, httpPort, key } = await servingOrderProcess(proxy.url, {
        telemetry: true,
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_TRACES_SAMPLER: "always_on",
          OTEL_METRICS_EXPORTER: "none",
          // Spans leave only when the SDK is flushed, at shutdown.
          OTEL_BSP_SCHEDULE_DELAY: "60000",
        },
      });
      try {
        const token = await signDevToken(key, {
          role: "customer",
          subject: "fay",
          issuer: "shopmesh-dev",
          audience: "shopmesh",
        });
        const listed = await fetch(`http://127.0.0.1:${httpPort}/shopmesh.order.v1.OrderService/ListOrders`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: "{}",
        });
        expect(listed.status).toBe(200);
        await proxy.close(); // NATS's connections reset, new ones refused
        service.child.kill("SIGTERM");
        expect(await service.exited).toBe(1);
        expect(service.output()).toMatch(/"msg":"shutdown failed"/);
        expect(receiver.spans.map((span) => span.name)).toContain("shopmesh.order.v1.OrderService/ListOrders");
      } finally {
        health.close();
        service.child.kill("SIGKILL");
      }
    } finally {
      await proxy.close();
      await receiver.close();
    }
  }, 60_000);

  it("refuses to start with a clear message naming every invalid variable", async () => {
    const service = runOrderProcess({
      // A database name where a URL belongs, and a URL without its scheme: values that
      // are no URL at all are named, not a crash.
      DATABASE_URL: "shopmesh_order",
      AUTH_JWKS_URL: "idp.example.com/jwks",
      NATS_URL: ",",
      GRPC_ADDRESS: "not-an-address",
      INVENTORY_TIMEOUT_MS: "-5",
      AUTH_DEV_KEY: "short",
      // Meant as 50 minutes, and past what a timer can wait.
      SHUTDOWN_GRACE_MS: "3000000000",
      LOG_LEVEL: "verbose",
      // Shorter than a dead letter may wait to be replayed.
      INBOX_RETENTION_DAYS: "7",
      // Longer than the 7 days the inbox's retention bound is derived from.
      NATS_STREAM_MAX_AGE_DAYS: "14",
    });
    expect(await service.exited).not.toBe(0);
    const output = service.output();
    expect(output).toMatch(/^invalid configuration:\n/);
    expect(output).not.toMatch(/\bat .*\.ts:\d+/);
    for (const variable of [
      "DATABASE_URL",
      "AUTH_JWKS_URL",
      "NATS_URL",
      "GRPC_ADDRESS",
      "AUTH_DEV_KEY",
      "INVENTORY_TIMEOUT_MS",
      "SHUTDOWN_GRACE_MS",
      "LOG_LEVEL",
      "INBOX_RETENTION_DAYS",
      "NATS_STREAM_MAX_AGE_DAYS",
    ]) {
      expect(output).toContain(variable);
    }
  });

  it("names a missing signing key together with variables invalid on their own", async () => {
    const service = runOrderProcess({ DATABASE_URL: database.url, DB_POOL_SIZE: "ten" });
    expect(await service.exited).not.toBe(0);
    expect(service.output()).toContain("DB_POOL_SIZE");
    expect(service.output()).toContain("AUTH_JWKS_URL or AUTH_DEV_KEY must be set");
  });

  it("refuses an inbox kept for less time than a copy of an event can still arrive", async () => {
    const service = runOrderProcess({
      DATABASE_URL: database.url,
      AUTH_DEV_KEY: randomBytes(32).toString("base64url"),
      OUTBOX_RETENTION_DAYS: "30",
      INBOX_RETENTION_DAYS: "60",
    });
    expect(await service.exited).not.toBe(0);
    expect(service.output()).toContain("INBOX_RETENTION_DAYS must be at least OUTBOX_RETENTION_DAYS + 45 (75)");
  });

  it("a mesh whose service cannot start fails at once, with that service's last output", async () => {
    const databasePrefix = `t_launch_${randomBytes(5).toString("hex")}`;
    const adminUrl = testInfrastructure().databaseUrl;
    try {
      // A signing key too short to use: every service refuses its configuration and exits.
      const launched = launchMesh({
        postgresUrl: adminUrl,
        natsUrl: nats.url,
        authDevKey: "short",
        databasePrefix,
        ports: await freeMeshPorts(),
        env: { EVENT_NAMESPACE: nats.prefix },
        onLine: () => {},
        onExit: () => {},
      });
      await expect(launched).rejects.toThrow(
        /^inventory exited \(code 1\) before reporting SERVING on :\d+; its last output:\n[\s\S]*AUTH_DEV_KEY/,
      );
    } finally {
      await dropMeshDatabases(adminUrl, databasePrefix);
    }
  });
});

/** A server that accepts TCP connections and never answers: a failed-over address, a partition. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe("a service whose dependency accepts connections and never answers", () => {
  const settings = () => ({
    EVENT_NAMESPACE: nats.prefix,
    AUTH_DEV_KEY: randomBytes(32).toString("base64url"),
    GRPC_ADDRESS: "127.0.0.1:0",
    HTTP_ADDRESS: "127.0.0.1:0",
  });

  it("fails to start, saying so, when PostgreSQL does not answer (the migrations' connection gives up)", async () => {
    const silent = await silentServer();
    const service = runOrderProcess({
      ...settings(),
      DATABASE_URL: `postgres://root@127.0.0.1:${silent.port}/shopmesh_order`,
      NATS_URL: nats.url,
    });
    try {
      expect(await service.exited).toBe(1);
      expect(service.output()).toMatch(/order failed to start: .*timeout/i);
    } finally {
      service.child.kill("SIGKILL");
      await silent.close();
    }
  }, 60_000);

  it("fails to start naming NATS, its credentials left out, when NATS does not answer", async () => {
    const silent = await silentServer();
    const service = runOrderProcess({
      ...settings(),
      DATABASE_URL: database.url,
      NATS_URL: `nats://shopmesh:s3cret@127.0.0.1:${silent.port}`,
    });
    try {
      expect(await service.exited).toBe(1);
      expect(service.output()).toContain(`NATS at nats://127.0.0.1:${silent.port} cannot be reached`);
      expect(service.output()).not.toContain("s3cret");
    } finally {
      service.child.kill("SIGKILL");
      await silent.close();
    }
  }, 60_000);
});

describe("npm start's launcher", () => {
  it("gives the browser the services' OTLP/HTTP traces endpoint, and none when they export over gRPC", () => {
    const endpoint = "http://127.0.0.1:4318";
    expect(tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint })).toBe(`${endpoint}/v1/traces`);
    expect(
      tracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }),
    ).toBe(undefined);
    expect(tracesUrl({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: endpoint })).toBe(undefined);
    expect(tracesUrl({ OTEL_TRACES_EXPORTER: "console", OTEL_EXPORTER_OTLP_ENDPOINT: endpoint })).toBe(undefined);
    expect(tracesUrl({ OTEL_TRACES_EXPORTER: "console, otlp", OTEL_EXPORTER_OTLP_ENDPOINT: endpoint })).toBe(
      `${endpoint}/v1/traces`,
    );
  });

  it("says in its banner where the services' traces go, as OTEL_TRACES_EXPORTER lists them", () => {
    expect(tracesLine({ OTEL_TRACES_EXPORTER: "none" })).toMatch(/^off: /);
    expect(tracesLine({ OTEL_TRACES_EXPORTER: "console" })).toBe("to console (OTEL_TRACES_EXPORTER), not to Jaeger");
    expect(tracesLine({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" })).toMatch(
      /^OTLP to http:\/\/collector:4318\/v1\/traces /,
    );
    expect(tracesLine({ OTEL_TRACES_EXPORTER: "otlp,console" })).toMatch(/^OTLP to http:\/\/localhost:4318 /);
  });

  it("when a service cannot bind its port, stops the services already started: no process outlives it", async () => {
    const ports = await freeMeshPorts();
    // Whatever connects to the taken port (the launcher's health check of the order
    // service) is cut when the test ends: close() alone waits for every connection.
    const connections = new Set<Socket>();
    const taken = createServer((socket) => {
      connections.add(socket);
      socket.once("close", () => connections.delete(socket));
    });
    // Another test may take the port first: then this fails rather than waiting for ever.
    await new Promise<void>((resolve, reject) => {
      taken.once("error", reject);
      taken.listen(ports.order.grpc, "0.0.0.0", resolve);
    });
    try {
      await withLauncher({ ports }, async (launcher) => {
        expect(await launcher.exit()).toBe(1);
        expect(launcher.output()).toMatch(/order exited \(code 1\)/);
        expect(launcher.output()).toContain("EADDRINUSE");
      });
    } finally {
      for (const socket of connections) socket.destroy();
      await new Promise((resolve) => taken.close(resolve));
    }
  }, 180_000);

  it("on Ctrl-C (SIGINT to its terminal's process group) stops each service once, cleanly, and exits 0", async () => {
    const ports = await freeMeshPorts();
    await withLauncher({ ports, storefrontPort: await freePort() }, async (launcher) => {
      await untilRunning(launcher);
      // The banner says how to read the order it shows how to place, on the ports in use.
      expect(launcher.output()).toContain(
        `http://127.0.0.1:${ports.order.http}/shopmesh.order.v1.OrderService/GetOrder`,
      );
      // …and how to list its dead letters: in its namespace's stream, not the default one.
      expect(launcher.output()).toMatch(new RegExp(`NATS_URL=\\S+ ${launcher.marker} npm run deadletters`));
      // Its wrapper runs detached (see withLauncher): its process group stands for the terminal's job.
      process.kill(-(launcher.child.pid ?? 0), "SIGINT");
      expect(await launcher.exit()).toBe(0);
      const output = launcher.output();
      // Each service was stopped by the launcher alone, with one SIGTERM, and ended cleanly.
      for (const service of ["order", "inventory", "payment"]) {
        const shutdowns = output
          .split("\n")
          .filter((line) => line.startsWith(`[${service}] `) && /shutting down/.test(line));
        expect(shutdowns.map((line) => JSON.parse(line.slice(service.length + 3)).signal)).toEqual(["SIGTERM"]);
      }
      expect(output).not.toMatch(/second signal|stopping the mesh/);
      expect(output).toMatch(/services stopped: inventory \(code 0\), payment \(code 0\), order \(code 0\)/);
    });
  }, 180_000);

  it("on Ctrl-C while its own PostgreSQL is starting, stops that PostgreSQL once it is up", async () => {
    const dir = await mkdtemp(join(tmpdir(), "shopmesh-launcher-"));
    await chmod(dir, 0o755); // PostgreSQL runs as its own user
    try {
      const privateServers = { dir, postgresPort: await freePort(), natsPort: await freePort() };
      // Without DATABASE_URL the launcher starts an embedded PostgreSQL in `dir`.
      await withLauncher(
        { ports: await freeMeshPorts(), privateServers },
        async (launcher) => {
          const postmaster = `${join(dir, "postgres", "data")}\0-p\0${privateServers.postgresPort}\0`;
          await withOutput(
            launcher,
            waitFor(async () => (await commandLines(launcher.marker)).some((line) => line.includes(postmaster)), {
              timeoutMs: 60_000,
              intervalMs: 5,
              description: "the embedded PostgreSQL's server process",
            }),
          );
          process.kill(-(launcher.child.pid ?? 0), "SIGINT");
          expect(await launcher.exit()).toBe(0);
          expect(launcher.output()).not.toContain("shopmesh is running.");
        },
        { DATABASE_URL: undefined },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it("when the wrapper npm start runs it through is killed outright, stops everything it started", async () => {
    await withLauncher({ ports: await freeMeshPorts(), storefrontPort: await freePort() }, async (launcher) => {
      await untilRunning(launcher);
      launcher.child.kill("SIGKILL");
    });
  }, 180_000);
});

describe("tools/tsx.mjs", () => {
  it("runs its tool, and any `node` the tool starts by name, on the repository's Node, whatever PATH it was given", () => {
    const pinned = join(repositoryRoot, "node_modules/.bin/node");
    const repositoryNode = existsSync(pinned)
      ? execFileSync(pinned, ["-v"], { encoding: "utf8" }).trim()
      : process.version;
    // As when the wrapper is run by hand rather than by npm: no node_modules/.bin on PATH.
    const path = (process.env.PATH ?? "")
      .split(":")
      .filter((dir) => !dir.endsWith("node_modules/.bin"))
      .join(":");
    const output = execFileSync(process.execPath, ["tools/tsx.mjs", "e2e/src/node-version-tool.ts"], {
      cwd: repositoryRoot,
      env: { ...process.env, PATH: path },
      encoding: "utf8",
    });
    expect(JSON.parse(output.trim().split("\n").at(-1) ?? "{}")).toEqual({
      tool: repositoryNode,
      byName: repositoryNode,
    });
  });

  it("stops its tool when the process that ran it (npm) is killed outright", async () => {
    // A shell stands for npm: it runs the wrapper as npm start does, and waits for it.
    const {
      child: npm,
      marker,
      output,
    } = spawnMarked("sh", ["-c", "node tools/tsx.mjs --own-process-group e2e/src/idle-tool.ts & wait"]);
    try {
      await waitFor(() => output().includes("idle tool running"), { description: "the tool running" });
      process.kill(npm.pid ?? 0, "SIGKILL"); // npm alone: the wrapper and the tool are left
      await waitFor(async () => (await processesWith(marker)).length === 0, {
        timeoutMs: 10_000,
        description: "the wrapper and the tool gone",
      });
    } finally {
      for (const pid of await processesWith(marker)) process.kill(pid, "SIGKILL");
    }
  });

  it("keeps a tool in its wrapper's process group, so a kill of that group (a CI timeout) ends the tool too", async () => {
    // The wrapper leads a process group of its own, as a shell's job or a CI step would.
    const { child: wrapper, marker, output } = spawnMarked(process.execPath, ["tools/tsx.mjs", "e2e/src/idle-tool.ts"]);
    try {
      await waitFor(() => output().includes("idle tool running"), { description: "the tool running" });
      // The wrapper, the tool (and tsx's esbuild service).
      expect((await processesWith(marker)).length).toBeGreaterThanOrEqual(2);
      process.kill(-(wrapper.pid ?? 0), "SIGKILL");
      await waitFor(async () => (await processesWith(marker)).length === 0, {
        description: "the wrapper and the tool gone",
      });
    } finally {
      for (const pid of await processesWith(marker)) process.kill(pid, "SIGKILL");
    }
  });
});

/**
 * Starts `command` from the repository's root, leading a process group of its own, with
 * a marker in its environment that processesWith() finds in whatever it starts; and
 * its output so far.
 */
function spawnMarked(command: string, args: string[]) {
  const marker = `SHOPMESH_TOOL_MARKER=${randomBytes(6).toString("hex")}`;
  const [name, value] = marker.split("=") as [string, string];
  const child = spawn(command, args, {
    cwd: repositoryRoot,
    env: { ...process.env, [name]: value },
    detached: true,
    stdio: ["ignore", "pipe", "ignore"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { child, marker, output: () => output };
}

/** Waits for the banner that says the whole mesh is up. */
function untilRunning(launcher: Launcher) {
  return withOutput(
    launcher,
    waitFor(() => launcher.output().includes("shopmesh is running."), {
      timeoutMs: 80_000,
      description: "the launcher's banner",
    }),
  );
}

/**
 * A failed wait that says what the launcher printed: without it, a launcher that hangs
 * under a loaded CI machine leaves nothing to read but the test's timeout.
 */
async function withOutput<T>(launcher: Launcher, waiting: Promise<T>): Promise<T> {
  try {
    return await waiting;
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : error}; the launcher's output:\n${launcher.output()}`, {
      cause: error,
    });
  }
}

/** A launcher run by the wrapper `npm start` uses, and how it ended. */
interface Launcher {
  readonly child: ChildProcess;
  /** An entry of the environment of every process it starts. */
  readonly marker: string;
  output(): string;
  /** Its exit code, once it exits; fails, with its output, if that takes over 60 s. */
  exit(): Promise<number | null>;
}

/**
 * Runs `node tools/tsx.mjs` with the launcher on test infrastructure (its own databases
 * and NATS namespace), detached as a terminal's foreground job is, then checks that no
 * process it started is left: they all carry its EVENT_NAMESPACE, so they are found by
 * PID even once reparented. Whatever is left is killed.
 */
async function withLauncher(
  options: LocalMeshOptions,
  use: (launcher: Launcher) => Promise<void>,
  env: NodeJS.ProcessEnv = {},
) {
  const nats = createTestNats("launcher");
  const databasePrefix = `t_launcher_${randomBytes(5).toString("hex")}`;
  const adminUrl = testInfrastructure().databaseUrl;
  const marker = `EVENT_NAMESPACE=${nats.prefix}`;
  const child = spawn(
    process.execPath,
    [
      "tools/tsx.mjs",
      "--own-process-group",
      "e2e/src/local-mesh-main.ts",
      JSON.stringify({ ...options, databasePrefix }),
    ],
    {
      cwd: repositoryRoot,
      env: {
        ...process.env,
        DATABASE_URL: adminUrl,
        NATS_URL: nats.url,
        EVENT_NAMESPACE: nats.prefix,
        AUTH_DEV_KEY: randomBytes(32).toString("base64url"),
        OTEL_TRACES_EXPORTER: "none",
        LOG_LEVEL: "info",
        ...env,
      },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
  }
  let exitCode: number | null | undefined;
  child.once("exit", (code) => {
    exitCode = code;
  });
  const launcher: Launcher = {
    child,
    marker,
    output: () => output,
    exit: () =>
      withOutput(
        launcher,
        waitFor(() => exitCode !== undefined && { code: exitCode }, {
          timeoutMs: 60_000,
          description: "the launcher to exit",
        }),
      ).then(({ code }) => code),
  };
  try {
    await use(launcher);
    await withOutput(
      launcher,
      waitFor(async () => (await processesWith(marker)).length === 0, {
        timeoutMs: 20_000,
        description: "every process the launcher started to be gone",
      }),
    );
  } finally {
    for (const pid of await processesWith(marker)) process.kill(pid, "SIGKILL");
    // Bounded, so that a clean-up that hangs says which one it was, not only the test's timeout.
    const step = (promise: Promise<unknown>, what: string) =>
      within(promise, 30_000, () => new Error(`${what} took over 30 s`));
    await step(dropMeshDatabases(adminUrl, databasePrefix), "dropping the launcher's databases");
    await step(nats.cleanup(), "removing the launcher's streams");
  }
}

/** The command lines (arguments joined by NUL) of live processes whose environment holds `entry`. */
async function commandLines(entry: string): Promise<string[]> {
  const pids = await processesWith(entry);
  return Promise.all(pids.map((pid) => readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")));
}

/** The PIDs of live processes whose environment holds `entry` (a zombie's environment reads empty). */
async function processesWith(entry: string): Promise<number[]> {
  const pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name));
  const environs = await Promise.all(pids.map((pid) => readFile(`/proc/${pid}/environ`, "latin1").catch(() => "")));
  return pids.filter((_, index) => environs[index]?.split("\0").includes(entry)).map(Number);
}
