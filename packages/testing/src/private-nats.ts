import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { claimServer, type PersistentServer, releaseServer, stopLeftoverServer } from "./leftover-server.js";
import type { PrivateServerOptions } from "./private-postgres.js";
import type { PrivateServer } from "./private-server.js";
import { probeNats } from "./probe.js";
import { waitFor } from "./wait-for.js";

/**
 * The message shown when no NATS server is reachable and none can be started.
 */
export const natsServerMissing =
  "nats-server not found on PATH. Install it: `apt-get install nats-server` (Debian) or download from " +
  "https://github.com/nats-io/nats-server/releases, or set NATS_URL to a server with JetStream enabled.";

/**
 * Spawns `nats-server -js` from PATH on a free port (or the given one) and waits
 * until JetStream answers. Its store is a fresh temp folder removed at stop, or
 * `dir`, kept across runs; a server an earlier run left running on `dir` is stopped
 * first.
 */
export async function startPrivateNats(
  options: PrivateServerOptions & {
    /** More command-line arguments: a cluster node's name and routes (see startPrivateNatsCluster). */
    readonly args?: readonly string[];
  } = {},
  timeoutMs = 15_000,
): Promise<PrivateServer> {
  const persistent = options.dir !== undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "shopmesh-nats-")));
  await mkdir(dir, { recursive: true });
  const server: PersistentServer = {
    pidFile: join(dir, "nats-server.pid"),
    ownerFile: join(dir, "nats-server.owner"),
    executable: "nats-server",
    folderFlag: "-sd",
    folder: dir,
    signal: "SIGTERM",
  };
  if (persistent) await stopLeftoverServer(server, { onStopped: options.onLeftoverStopped });
  const port = options.port ?? (await freePort());
  const args = [
    "-js",
    "-a",
    "127.0.0.1",
    "-p",
    String(port),
    "-sd",
    dir,
    "-P",
    server.pidFile,
    ...(options.args ?? []),
  ];
  const child = spawn("nats-server", args, {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  // Its own word that it listens: a probe alone would also pass against another server
  // holding the port (another clone's `npm start`) while this one fails to bind and exits.
  let listening = false;
  child.stderr.on("data", (chunk: Buffer) => {
    listening ||= (output.slice(-100) + chunk.toString()).includes("Server is ready");
    output = (output + chunk.toString()).slice(-4_000);
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const killOnExit = () => {
    child.kill(persistent ? "SIGTERM" : "SIGKILL");
    if (!persistent) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  };
  process.once("exit", killOnExit);
  const failed = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    child.once("spawn", () => resolve(undefined));
    child.on("error", resolve);
  });
  const stop = async () => {
    process.off("exit", killOnExit);
    if (!failed && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
    if (persistent) await releaseServer(server);
    else await rm(dir, { recursive: true, force: true });
  };
  if (failed) {
    await stop();
    throw new Error(failed.code === "ENOENT" ? natsServerMissing : `cannot start nats-server: ${failed.message}`);
  }
  const url = `nats://127.0.0.1:${port}`;
  const outcome = await waitFor(
    async () => {
      if (child.exitCode !== null) return "exited";
      return listening && (await probeNats(url, 500)) === undefined && "ready";
    },
    { timeoutMs, intervalMs: 50, description: `nats-server on ${url} to accept connections` },
  ).catch((error: Error) => error.message);
  if (outcome !== "ready") {
    await stop();
    throw new Error(`nats-server did not start (${outcome}). Its output:\n${output}`);
  }
  if (persistent) await claimServer(server);
  return { url, pid: child.pid ?? 0, stop };
}
