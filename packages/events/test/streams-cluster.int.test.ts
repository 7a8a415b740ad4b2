import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { type PrivateNatsCluster, startPrivateNatsCluster } from "@shopmesh/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allEvents, createEventCatalog, ensureStreams } from "../src/index.js";

describe("the streams declared by replicas that start together on a three-node JetStream cluster", () => {
  let cluster: PrivateNatsCluster;
  const connections: NatsConnection[] = [];
  beforeAll(async () => {
    cluster = await startPrivateNatsCluster(3);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    await cluster?.stop();
  });
  const replica = async (): Promise<JetStreamManager> => {
    const nc = await connect({ servers: cluster.url.split(",") });
    connections.push(nc);
    return jetstreamManager(nc);
  };

  it("are declared by every replica (a first install: six replicas, no stream yet)", async () => {
    const catalog = createEventCatalog(allEvents, "FIRST_INSTALL");
    const replicas = await Promise.all(Array.from({ length: 6 }, replica));
    const declared = await Promise.allSettled(replicas.map((jsm) => ensureStreams(jsm, catalog, { replicas: 3 })));
    expect(declared.filter(({ status }) => status === "rejected")).toEqual([]);
    const [jsm] = replicas;
    for (const name of [...catalog.streams().map((stream) => stream.name), catalog.deadLetterStream]) {
      const info = await jsm?.streams.info(name);
      expect(info?.config.num_replicas, name).toBe(3);
    }
  }, 120_000);
});
