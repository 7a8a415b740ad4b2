import { OrderCancelledSchema, OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { createPool } from "@shopmesh/pg";
import { waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { onTx, publishEvent, startConsumer } from "../src/index.js";
import { useEventsTestbed } from "./testbed.js";

const bed = useEventsTestbed("backlog", "CREATE TABLE applied (event_id uuid PRIMARY KEY)");

describe("a consumer working through a backlog longer than its ack wait", () => {
  it("keeps the events it has taken but not reached from being delivered again", async () => {
    // nats.js takes the whole backlog at once (up to max_ack_pending). 300 events, 10 ms
    // of database work each: the last are reached ~3 s after they arrived, past the 2 s
    // ack wait — and would be redelivered while their first copy still waits its turn.
    const events = 300;
    for (let i = 0; i < events; i++) {
      await publishEvent(bed.js, bed.catalog, OrderCancelledSchema, {
        orderId: crypto.randomUUID(),
        reason: "backlog",
      });
    }
    let redelivered = 0;
    const consumer = await startConsumer({
      ...bed.consumer,
      name: "backlog",
      ackWaitMs: 2_000,
      subscriptions: [
        onTx(OrderCancelledSchema, async (event, tx, delivery) => {
          if (delivery.deliveryCount > 1) redelivered++;
          await tx.query("SELECT pg_sleep(0.01)");
          await tx.query("INSERT INTO applied (event_id) VALUES ($1)", [event.eventId]);
        }),
      ],
    });
    try {
      await waitFor(
        async () => {
          const info = await bed.jsm.consumers.info(bed.catalog.streamName("ORDERS"), "backlog");
          return info.ack_floor.stream_seq === events && info.num_ack_pending === 0;
        },
        { description: "every event applied and acked", timeoutMs: 30_000 },
      );
    } finally {
      await consumer.stop();
    }
    const info = await bed.jsm.consumers.info(bed.catalog.streamName("ORDERS"), "backlog");
    expect((await bed.pool.query("SELECT count(*)::int AS n FROM applied")).rows[0].n).toBe(events);
    expect({ deliveries: info.delivered.consumer_seq, redelivered }).toEqual({ deliveries: events, redelivered: 0 });
  });

  it("lets another replica take them once its own batch hangs (a query on a dead connection)", async () => {
    const events = 100;
    const ackWaitMs = 2_000;
    // The stuck replica's statement runs until cancelled (no statement timeout, so no
    // answer timeout either), as one on a connection whose answers no longer come back
    // would until the pool's answer timeout gives it up.
    const stuckPool = createPool({
      url: bed.db.url,
      applicationName: "backlog-stuck",
      statementTimeoutMs: 0,
      onError: () => undefined,
    });
    let hanging = true;
    const replica = (stuck: boolean) =>
      startConsumer({
        ...bed.consumer,
        pool: stuck ? stuckPool : bed.pool,
        name: "hoard",
        ackWaitMs,
        subscriptions: [
          onTx(OrderPlacedSchema, async (event, tx) => {
            if (stuck && hanging) await tx.query("SELECT pg_sleep(600)");
            await tx.query("INSERT INTO applied (event_id) VALUES ($1) ON CONFLICT DO NOTHING", [event.eventId]);
          }),
        ],
      });
    const stuck = await replica(true);
    const place = () =>
      publishEvent(bed.js, bed.catalog, OrderPlacedSchema, {
        orderId: crypto.randomUUID(),
        customerId: "c",
        paymentToken: "tok_visa",
      });
    // One event first, so that the hanging batch (whose inbox rows stay locked) holds it alone.
    const first = await place();
    const stuckStillHanging = async () =>
      (
        await bed.pool.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = 'backlog-stuck' AND query LIKE '%pg_sleep%'",
        )
      ).rowCount === 1;
    await waitFor(stuckStillHanging, { description: "the stuck replica's batch hanging" });
    const placed = [first, ...(await Promise.all(Array.from({ length: events - 1 }, place)))];
    await waitFor(
      async () =>
        (await bed.jsm.consumers.info(bed.catalog.streamName("ORDERS"), "hoard")).delivered.consumer_seq >= events,
      { description: "every event delivered to the stuck replica" },
    );
    const healthy = await replica(false);
    const applied = async (some: readonly { eventId: string }[]) =>
      (
        await bed.pool.query("SELECT count(*)::int AS n FROM applied WHERE event_id = ANY($1)", [
          some.map((e) => e.eventId),
        ])
      ).rows[0].n as number;
    try {
      try {
        // Two thirds of the ack wait into its batch, the stuck replica stops pulling and
        // hands back what it queued. One that went on pulling took back about two thirds
        // of the events due again after each ack wait (2 s): the last of 99 took ~25 s or
        // more (half of them in ~10 s in a busy test run). Its batch's own event waits: the
        // hanging transaction holds its inbox row.
        const queued = placed.slice(1);
        await waitFor(async () => (await applied(queued)) === queued.length, {
          timeoutMs: 12_000,
          description: "every queued event applied by the healthy replica while the other hangs",
        });
        expect(await stuckStillHanging()).toBe(true);
      } finally {
        hanging = false;
        await bed.pool.query(
          "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'backlog-stuck'",
        );
        await healthy.stop();
      }
      await waitFor(async () => (await applied([first])) === 1, { description: "the stuck batch's event applied" });
      // Its batch over, the stuck replica pulls again: alone now, it applies new events.
      const later = await Promise.all(Array.from({ length: 10 }, place));
      await waitFor(async () => (await applied(later)) === later.length, {
        description: "the recovered replica applying new events",
      });
    } finally {
      await stuck.stop();
      await stuckPool.end();
    }
  });
});
