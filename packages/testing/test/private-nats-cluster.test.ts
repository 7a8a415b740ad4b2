import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startPrivateNatsCluster } from "../src/index.js";

/** This process's nats-servers that are still alive (not zombies), by the cluster name it gives them. */
function clusterServers(): number[] {
  const clusterName = `shopmesh-test-${process.pid}`;
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (args.includes(clusterName) && state !== "Z") found.push(Number(entry));
    } catch {
      // The process ended while it was read.
    }
  }
  return found;
}

/** The stores folders of this machine's private clusters. */
const storeRoots = () => readdirSync(tmpdir()).filter((name) => name.startsWith("shopmesh-nats-cluster-"));

describe("startPrivateNatsCluster, when one node cannot start", () => {
  it("stops the nodes that did, removes every store, and says why", async () => {
    // A nats-server on PATH that refuses to run as node n2 (a port taken, a bad store…).
    const bin = mkdtempSync(join(tmpdir(), "shopmesh-nats-n2-fails-"));
    writeFileSync(
      join(bin, "nats-server"),
      `#!/bin/sh\ncase " $* " in *" --server_name n2 "*) echo "n2 cannot start" >&2; exit 1;; esac\nexec nats-server "$@"\n`,
    );
    chmodSync(join(bin, "nats-server"), 0o755);
    const path = process.env.PATH;
    const rootsBefore = storeRoots();
    let left: number[] = [];
    process.env.PATH = `${bin}:${path}`;
    try {
      // (The other two cannot elect a meta leader without it: they give up after 5 s.)
      const outcome = await startPrivateNatsCluster(3, 5_000).then(
        async (cluster) => {
          await cluster.stop();
          return "started";
        },
        (error: Error) => error.message,
      );
      process.env.PATH = path;
      expect(outcome).toContain("n2 cannot start");
      left = clusterServers();
      expect(left, "nats-servers still running after the failed start").toEqual([]);
      expect(storeRoots().filter((name) => !rootsBefore.includes(name))).toEqual([]);
    } finally {
      process.env.PATH = path;
      for (const pid of left) process.kill(pid, "SIGKILL");
      rmSync(bin, { recursive: true, force: true });
    }
  }, 60_000);

  it("leaves no store behind after a normal stop", async () => {
    const cluster = await startPrivateNatsCluster(3);
    const [root] = storeRoots();
    await cluster.stop();
    expect(clusterServers()).toEqual([]);
    expect(root && existsSync(join(tmpdir(), root))).toBe(false);
  }, 60_000);
});
