import { AckPolicy, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { type PrivateNatsCluster, startPrivateNatsCluster, useTestDatabase, waitFor } from "@shopmesh/testing";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allEvents, createEventCatalog, ensureStreams, on, publishEvent, startConsumer } from "../src/index.js";
import { type EventsTestbed, openEventsTestbed } from "./testbed.js";

describe("a consumer on a three-node JetStream cluster whose durable's leader crashes", () => {
  const db = useTestDatabase("consumer cluster");
  let cluster: PrivateNatsCluster;
  beforeAll(async () => {
    cluster = await startPrivateNatsCluster(3);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it("consumes the events published after the crash within an ack wait of the election", async () => {
    const catalog = createEventCatalog(allEvents, "LEADER_CRASH");
    const name = "survivor";
    const first = await connect({ servers: cluster.url.split(",") });
    const setup = await jetstreamManager(first);
    await ensureStreams(setup, catalog, { replicas: 3 });
    await setup.consumers.add(catalog.route(OrderPlacedSchema).stream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
    });
    // A replicated durable's info can come back before its nodes have elected a leader.
    const leaderName = await waitFor(
      async () => (await setup.consumers.info(catalog.route(OrderPlacedSchema).stream, name)).cluster?.leader,
      { description: "the durable's leader elected" },
    );
    const leader = cluster.node(leaderName);
    await first.close();
    // The consumer's connection stays up through the crash, on a node that survives:
    // its pull, answered by the dead leader, is never answered.
    const survivor = cluster.nodes.find((node) => node !== leader);
    let bed: EventsTestbed | undefined;
    const applied = new Set<string>();
    try {
      bed = await openEventsTestbed(db, { connect: () => connect({ servers: survivor?.url }) }, "consumer-cluster");
      const consumer = await startConsumer({
        js: bed.js,
        jsm: bed.jsm,
        pool: bed.pool,
        catalog,
        logger: pino({ level: "silent" }),
        name,
        // Short, so that an event the dead leader counted as delivered, but never sent,
        // comes back well before the stall this test is about would end.
        ackWaitMs: 3_000,
        subscriptions: [on(OrderPlacedSchema, async (event) => void applied.add(event.orderId))],
      });
      const { js } = bed;
      const place = async () => {
        const orderId = crypto.randomUUID();
        await publishEvent(js, catalog, OrderPlacedSchema, { orderId, customerId: "c", paymentToken: "tok_visa" });
        return orderId;
      };
      try {
        const before = await place();
        await waitFor(() => applied.has(before), { description: "an event applied before the crash" });
        await leader.crash();
        // Published while the survivors elect new leaders, which refuse or leave
        // unanswered what reaches them meanwhile: each is published again until stored.
        const after = await Promise.all(
          Array.from({ length: 10 }, () =>
            waitFor(() => place().catch(() => undefined), { timeoutMs: 30_000, description: "a publish stored" }),
          ),
        );
        // Election and one ack wait take seconds here. A consumer whose pull of 30 s was
        // held by the dead leader pulled again only after two missed idle heartbeats,
        // ~45 s after the crash.
        await waitFor(() => after.every((orderId) => applied.has(orderId)), {
          timeoutMs: 25_000,
          description: "every event published after the crash applied",
        });
        expect(after.filter((orderId) => applied.has(orderId))).toHaveLength(10);
      } finally {
        await consumer.stop();
      }
    } finally {
      await bed?.nc.close();
      await bed?.pool.end();
      await leader.restart();
    }
  }, 120_000);
});
