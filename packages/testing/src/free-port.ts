import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * Finds a TCP port on 127.0.0.1 that is free right now, for a server a test starts
 * later. It is drawn from below the kernel's ephemeral range: a port the OS hands out
 * for `listen(0)` is one it also hands to outgoing connections (to PostgreSQL, NATS,
 * …), and a busy test run opens thousands of them, so such a port can be taken again
 * before the server binds it.
 *
 * ```ts
 * const port = await freePort();
 * ```
 */
export async function freePort(): Promise<number> {
  const below = ephemeralRangeStart();
  const lowest = Math.min(20_000, below - 1_000);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = lowest + Math.floor(Math.random() * (below - lowest));
    if (await isFree(port)) return port;
  }
  throw new Error(`no free port found between ${lowest} and ${below - 1}`);
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
