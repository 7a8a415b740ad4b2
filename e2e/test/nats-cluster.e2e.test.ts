import { jetstreamManager } from "@nats-io/jetstream";
import { type ClusterNode, type PrivateNatsCluster, startPrivateNatsCluster, waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { orderStatuses, placeOrder, placeOrders, products, stockLevel, stockOf } from "../src/fixtures.js";
import { checkInvariants } from "../src/invariants.js";
import { type Mesh, startMesh } from "../src/mesh.js";

describe("a three-node JetStream cluster that loses a node while orders are placed", () => {
  it("replicates every stream and consumer three times, and loses no event when a stream's leader crashes", async () => {
    // Servers of this test's own: a cluster as production runs it (NATS_STREAM_REPLICAS=3,
    // NATS_URL naming every node), on this machine.
    let cluster: PrivateNatsCluster | undefined = await startPrivateNatsCluster(3);
    let mesh: Mesh | undefined;
    try {
      mesh = await startMesh("nats_cluster", { NATS_STREAM_REPLICAS: "3" }, cluster.url);
      const { prefix } = mesh.nats;
      const jsm = await jetstreamManager(await mesh.nats.connect());
      const streams = [];
      for await (const info of jsm.streams.list()) {
        if (info.config.name.startsWith(prefix)) streams.push(info);
      }
      expect(streams.map((info) => info.config.name).sort()).toEqual(
        ["DEADLETTER", "INVENTORY", "ORDERS", "PAYMENTS"].map((stream) => `${prefix}_${stream}`),
      );
      for (const info of streams) {
        expect(info.config.num_replicas, info.config.name).toBe(3);
        expect(info.cluster?.replicas?.length, info.config.name).toBe(2);
        for await (const consumer of jsm.consumers.list(info.config.name)) {
          expect(consumer.config.num_replicas ?? 0, consumer.name).not.toBe(1);
          expect(consumer.cluster?.replicas?.length, consumer.name).toBe(2);
        }
      }

      const catalog = products(1, 1_000n);
      const sku = catalog[0]?.sku ?? "";
      await mesh.seed(catalog);
      const orders = mesh.orders(await mesh.customerToken("erin"));

      // The leader of the orders stream crashes as the 20th of 40 PlaceOrders answers,
      // with sagas under way: the other two elect new leaders for it and for every
      // stream and consumer it led, and the services' connections to it move over.
      const ordersStream = `${prefix}_ORDERS`;
      const leader = (await jsm.streams.info(ordersStream)).cluster?.leader ?? "";
      const crashed = cluster.node(leader);
      let answered = 0;
      let crashing: Promise<void> | undefined;
      const before = await Promise.all(
        Array.from({ length: 40 }, async () => {
          const orderId = await placeOrder(orders, sku);
          if (++answered === 20) crashing = crashed.crash();
          return orderId;
        }),
      );
      await crashing;
      expect(crashed.running).toBe(false);
      const during = await placeOrders(orders, sku, 30);
      // Usually within seconds of the new leaders' election; an event the dead leader
      // counted as delivered but never got out comes back after the 30 s ack wait.
      await waitFor(async () => (await orderStatuses(mesh as Mesh, [...before, ...during])).confirmed === 70, {
        description: "70 orders confirmed on the two servers left",
        timeoutMs: 90_000,
      });
      const newLeader = (await jsm.streams.info(ordersStream)).cluster?.leader;
      expect(newLeader).toBeDefined();
      expect(newLeader).not.toBe(leader);

      // Back, it catches up, and the cluster goes on with three.
      await crashed.restart();
      const after = await placeOrders(orders, sku, 30);
      const ids = [...before, ...during, ...after];
      expect(new Set(ids).size).toBe(100);
      await waitFor(async () => (await orderStatuses(mesh as Mesh, ids)).confirmed === 100, {
        description: "100 orders confirmed after the node's restart",
        timeoutMs: 90_000,
      });
      await waitFor(
        async () => {
          const replicas = (await jsm.streams.info(ordersStream)).cluster?.replicas ?? [];
          return replicas.length === 2 && replicas.every((replica) => replica.current);
        },
        { description: `every replica of ${ordersStream} current again` },
      );
      expect(ids.every((id) => mesh?.provider.chargeOf(id)?.outcome?.outcome === "captured")).toBe(true);
      await waitFor(async () => (await stockLevel(mesh as Mesh, sku)).sold === 100n, {
        description: "100 reservations sold",
      });
      const report = await checkInvariants(mesh, stockOf(catalog));
      expect(report.unfinished).toEqual([]);
      expect(report.moneyProblems).toEqual([]);
      expect(report.stockProblems).toEqual([]);
    } finally {
      await mesh?.close();
      await cluster?.stop();
      cluster = undefined;
    }
  }, 240_000);

  it("moves a service off a node cut off from the other two, and its sagas go on", async () => {
    let cluster: PrivateNatsCluster | undefined = await startPrivateNatsCluster(3);
    let mesh: Mesh | undefined;
    let isolated: ClusterNode | undefined;
    try {
      mesh = await startMesh("nats_isolated", { NATS_STREAM_REPLICAS: "3" }, cluster.url);
      const catalog = products(1, 1_000n);
      const sku = catalog[0]?.sku ?? "";
      await mesh.seed(catalog);
      const orders = mesh.orders(await mesh.customerToken("frank"));
      const before = await placeOrders(orders, sku, 10);
      await waitFor(async () => (await orderStatuses(mesh as Mesh, before)).confirmed === 10, {
        description: "10 orders confirmed",
      });

      // The node the order service is connected to loses its routes, not its clients: it
      // still answers their pings, so nothing makes them reconnect, and every JetStream
      // request through it fails — while the other two keep a quorum of every stream.
      for (const node of cluster.nodes) if ((await node.clients()).includes("order")) isolated = node;
      if (!isolated) throw new Error("the order service is on no node of the cluster");
      isolated.isolate();
      const during = await placeOrders(orders, sku, 10);
      await waitFor(async () => (await orderStatuses(mesh as Mesh, during)).confirmed === 10, {
        description: `10 orders placed after ${isolated.name} was cut off confirmed`,
        timeoutMs: 90_000,
      });
      expect(await isolated.clients()).not.toContain("order");
      const report = await checkInvariants(mesh, stockOf(catalog));
      expect(report.unfinished).toEqual([]);
      expect(report.moneyProblems).toEqual([]);
    } finally {
      // Gone, the cut-off node takes no part in the clean-up's JetStream requests.
      await isolated?.crash();
      await mesh?.close();
      await cluster?.stop();
      cluster = undefined;
    }
  }, 180_000);
});
