import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * Finds a TCP port on 127.0.0.1 that is free right now, for a server a test starts
 * later. It is drawn from below the kernel's ephemeral range: a port the OS hands out
 * for `listen(0)` is one it also hands to outgoing connections (to PostgreSQL, NATS,
 * …), and a busy test run opens thousands of them, so such a port can be taken again
 * before the server binds it.
 *
 * Nothing holds the port until the server binds it, which for a service started as a
 * process takes seconds. So that no other test takes it meanwhile, each vitest worker
 * draws from a slice of the range of its own (by `VITEST_POOL_ID`), and a process
 * never hands out a port twice (a mesh asks for nine before it binds any).
 *
 * ```ts
 * const port = await freePort();
 * ```
 */
export async function freePort(): Promise<number> {
  const below = ephemeralRangeStart();
  const lowest = Math.min(20_000, below - 1_000);
  const [from, to] = workerSlice(lowest, below);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from));
    if (handedOut.has(port)) continue;
    // Marked before the check, so that calls made at once do not both take it; a port
    // someone else holds stays marked: it is not ours to hand out either.
    handedOut.add(port);
    if (await isFree(port)) return port;
  }
  throw new Error(`no free port found between ${from} and ${to - 1}`);
}

/** The ports this process has handed out: a server may not have bound one yet. */
const handedOut = new Set<number>();

/** How many slices the range is cut into: more than a run on any machine has workers. */
const slices = 16;

/** This vitest worker's part of [lowest, below); the whole range outside vitest. */
function workerSlice(lowest: number, below: number): [number, number] {
  const worker = Number(process.env.VITEST_POOL_ID);
  if (!Number.isInteger(worker) || worker < 1) return [lowest, below];
  const size = Math.floor((below - lowest) / slices);
  const from = lowest + ((worker - 1) % slices) * size;
  return [from, from + size];
}

/** The first port of the kernel's ephemeral range (Linux's default where it cannot be read). */
function ephemeralRangeStart(): number {
  try {
    const [start] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const port = Number(start);
    return Number.isInteger(port) && port > 2_048 ? port : 32_768;
  } catch {
    return 32_768;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
