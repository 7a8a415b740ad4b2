import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { startPrivateNats } from "./private-nats.js";
import type { PrivateServer } from "./private-server.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

/** One server of a {@link PrivateNatsCluster}. */
export interface ClusterNode {
  /** The server's name, as JetStream reports a stream's or consumer's leader. */
  readonly name: string;
  /** Its client URL. */
  readonly url: string;
  /** Whether the server is running. */
  readonly running: boolean;
  /** Kills the server as a crash would (SIGKILL): its store stays for a restart. */
  crash(): Promise<void>;
  /** Starts the server again on its port and store; it rejoins the cluster. */
  restart(): Promise<void>;
  /**
   * Cuts the server off from the other nodes for good (its routes stop carrying
   * anything, without a reset), while its clients still reach it: a partition.
   */
  isolate(): void;
  /** The names of the client connections on the server now (its /connz). */
  clients(): Promise<string[]>;
}

/** A JetStream cluster of servers this process started, on free ports and stores of its own. */
export interface PrivateNatsCluster {
  /** Every node's client URL, comma-separated: the form NATS_URL takes. */
  readonly url: string;
  readonly nodes: readonly ClusterNode[];
  /** The node of that name. */
  node(name: string): ClusterNode;
  /** Stops every node and removes their stores. */
  stop(): Promise<void>;
}

/**
 * Starts `size` nats-servers (from PATH) as one JetStream cluster and waits until
 * each answers JetStream requests, which needs a meta leader: a quorum of the
 * servers (each within `timeoutMs`). A node crashed and restarted keeps its port,
 * route and store, as a pod of a StatefulSet would. Each route runs through a TCP
 * proxy of its own (one per direction and pair, and no route to an address a node
 * gossips), so that a node can be cut off from the others. If any node cannot start,
 * those that did are stopped and every store removed.
 */
export async function startPrivateNatsCluster(size = 3, timeoutMs = 30_000): Promise<PrivateNatsCluster> {
  const root = await mkdtemp(join(tmpdir(), "shopmesh-nats-cluster-"));
  const clusterName = `shopmesh-test-${process.pid}`;
  const specs = await Promise.all(
    Array.from({ length: size }, async (_, index) => ({
      name: `n${index + 1}`,
      dir: join(root, `n${index + 1}`),
      port: await freePort(),
      routePort: await freePort(),
      monitorPort: await freePort(),
    })),
  );
  const proxies = new Map<string, TcpProxy>();
  for (const from of specs) {
    for (const to of specs) {
      if (from !== to) proxies.set(`${from.name}>${to.name}`, await startTcpProxy(`nats://127.0.0.1:${to.routePort}`));
    }
  }
  const servers = new Map<string, PrivateServer>();
  const start = async (spec: (typeof specs)[number]) => {
    const routes = specs
      .filter((other) => other !== spec)
      .map((other) => proxies.get(`${spec.name}>${other.name}`)?.url.replace(/\/$/, ""))
      .join(",");
    const args = [
      "--server_name",
      spec.name,
      "--cluster_name",
      clusterName,
      "--cluster",
      `nats://127.0.0.1:${spec.routePort}`,
      // What a node gossips of its route address leads nowhere: the routes are the proxied ones.
      "--cluster_advertise",
      "127.0.0.1:1",
      "--routes",
      routes,
      "-m",
      String(spec.monitorPort),
    ];
    servers.set(spec.name, await startPrivateNats({ dir: spec.dir, port: spec.port, args }, timeoutMs));
  };
  // The stores are kept across a node's restart, so its server does not remove them:
  // this process does, whichever way it ends.
  const removeRoot = () => rmSync(root, { recursive: true, force: true, maxRetries: 5 });
  process.once("exit", removeRoot);
  const stop = async () => {
    await Promise.all([...servers.values()].map((server) => server.stop()));
    servers.clear();
    await Promise.all([...proxies.values()].map((proxy) => proxy.close()));
    process.off("exit", removeRoot);
    await rm(root, { recursive: true, force: true });
  };
  // Every start settled before any is undone: a node still starting when another failed
  // would otherwise come up after the stop, on a removed store.
  const started = await Promise.allSettled(specs.map(start));
  const failures = started.flatMap((outcome, index) =>
    outcome.status === "rejected" ? [`${specs[index]?.name}: ${String(outcome.reason)}`] : [],
  );
  if (failures.length > 0) {
    await stop();
    throw new Error(`the JetStream cluster did not start\n${failures.join("\n")}`);
  }
  const nodes: ClusterNode[] = specs.map((spec) => ({
    name: spec.name,
    url: `nats://127.0.0.1:${spec.port}`,
    get running() {
      return servers.has(spec.name);
    },
    async crash() {
      const server = servers.get(spec.name);
      if (!server) return;
      process.kill(server.pid, "SIGKILL");
      await server.stop();
      servers.delete(spec.name);
    },
    async restart() {
      if (!servers.has(spec.name)) await start(spec);
    },
    isolate() {
      for (const [pair, proxy] of proxies) if (pair.split(">").includes(spec.name)) proxy.partition();
    },
    async clients() {
      const connz = await fetch(`http://127.0.0.1:${spec.monitorPort}/connz`);
      const { connections = [] } = (await connz.json()) as { connections?: { name?: string }[] };
      return connections.map((connection) => connection.name ?? "");
    },
  }));
  return {
    url: nodes.map((node) => node.url).join(","),
    nodes,
    node(name) {
      const found = nodes.find((node) => node.name === name);
      if (!found) throw new Error(`no node ${name} in this cluster (${nodes.map((node) => node.name).join(", ")})`);
      return found;
    },
    stop,
  };
}
