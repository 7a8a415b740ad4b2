import { AckPolicy, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { type PrivateNatsCluster, startPrivateNatsCluster, waitFor } from "@shopmesh/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { declareDurable } from "../src/durable-settings.js";
import { allEvents, createEventCatalog, ensureStreams } from "../src/index.js";

describe("streams and durables declared by replicas on a three-node JetStream cluster", () => {
  let cluster: PrivateNatsCluster;
  const connections: NatsConnection[] = [];
  beforeAll(async () => {
    cluster = await startPrivateNatsCluster(3);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    await cluster?.stop();
  });
  const replica = async (servers = cluster.url.split(",")): Promise<JetStreamManager> => {
    const nc = await connect({ servers });
    connections.push(nc);
    return jetstreamManager(nc);
  };

  it("are declared by every replica (a first install: six replicas, no stream yet)", async () => {
    const catalog = createEventCatalog(allEvents, "FIRST_INSTALL");
    const replicas = await Promise.all(Array.from({ length: 6 }, () => replica()));
    const declared = await Promise.allSettled(replicas.map((jsm) => ensureStreams(jsm, catalog, { replicas: 3 })));
    expect(declared.filter(({ status }) => status === "rejected")).toEqual([]);
    const [jsm] = replicas;
    for (const name of [...catalog.streams().map((stream) => stream.name), catalog.deadLetterStream]) {
      const info = await jsm?.streams.info(name);
      expect(info?.config.num_replicas, name).toBe(3);
    }
  }, 120_000);

  it("declares a durable while its leader's node is down and the others elect a new one (a replica starting then)", async () => {
    const catalog = createEventCatalog(allEvents, "ELECTION");
    const route = catalog.route(OrderPlacedSchema);
    const durable = {
      stream: route.stream,
      config: { durable_name: "elected", ack_policy: AckPolicy.Explicit, filter_subject: route.subject },
    };
    const first = await replica();
    await ensureStreams(first, catalog, { replicas: 3 });
    expect(await declareDurable(first, durable)).toBe(true);
    // A replicated durable's info can come back before its nodes have elected a leader.
    const leaderName = await waitFor(
      async () => (await first.consumers.info(durable.stream, "elected")).cluster?.leader,
      {
        description: "the durable's leader elected",
      },
    );
    const leader = cluster.node(leaderName);
    const survivor = cluster.nodes.find((node) => node !== leader);
    const starting = await replica([survivor?.url ?? ""]);
    await leader.crash();
    try {
      expect(await declareDurable(starting, durable)).toBe(true);
      const info = await starting.consumers.info(durable.stream, "elected");
      expect(info.config.filter_subject).toBe(route.subject);
      expect(info.cluster?.leader).not.toBe(leader.name);
    } finally {
      await leader.restart();
    }
  }, 120_000);
});
