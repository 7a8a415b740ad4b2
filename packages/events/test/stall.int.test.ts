import { setTimeout as pause } from "node:timers/promises";
import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { createPool } from "@shopmesh/pg";
import { waitFor } from "@shopmesh/testing";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { onTx, publishEvent, startConsumer } from "../src/index.js";
import { useEventsTestbed } from "./testbed.js";

const bed = useEventsTestbed("stall", "CREATE TABLE applied (event_id uuid PRIMARY KEY)");

const place = () =>
  publishEvent(bed.js, bed.catalog, OrderPlacedSchema, {
    orderId: crypto.randomUUID(),
    customerId: "c",
    paymentToken: "tok_visa",
  });

const info = (name: string) => bed.jsm.consumers.info(bed.catalog.streamName("ORDERS"), name);

/**
 * A replica whose batches hang (in their transaction, inbox rows claimed) while
 * `hang` is set, until `release()`; `seen` has the highest delivery count of each event
 * its handler got.
 */
async function replica(name: string, ackWaitMs: number, { hang = true, pool = bed.pool } = {}) {
  const releases: (() => void)[] = [];
  const seen = new Map<string, number>();
  const control = {
    hang,
    hanging: 0,
    /** Times its pulls were paused. */
    paused: 0,
    seen,
    release() {
      control.hang = false;
      for (const release of releases.splice(0)) release();
    },
  };
  const consumer = await startConsumer({
    ...bed.consumer,
    pool,
    logger: pino(
      { level: "warn" },
      {
        write: (line: string) => {
          if (line.includes("pulling paused")) control.paused++;
        },
      },
    ),
    name,
    ackWaitMs,
    subscriptions: [
      onTx(OrderPlacedSchema, async (event, tx, delivery) => {
        seen.set(event.eventId, Math.max(seen.get(event.eventId) ?? 0, delivery.deliveryCount));
        if (control.hang) {
          control.hanging++;
          await new Promise<void>((resolve) => releases.push(resolve));
          control.hanging--;
        }
        await tx.query("INSERT INTO applied (event_id) VALUES ($1) ON CONFLICT DO NOTHING", [event.eventId]);
      }),
    ],
  });
  return { control, consumer };
}

describe("a replica whose batch hangs", () => {
  it("hands its queue to another replica, not back to itself: one more delivery each", async () => {
    const ackWaitMs = 2_000;
    const stuck = await replica("bounce", ackWaitMs);
    // The healthy replica waits for locks briefly: the stuck batch's event, due again
    // after its ack wait, waits on that batch's inbox row, and a wait longer than two
    // thirds of this short ack wait would stall the healthy replica too.
    const quickLocks = createPool({
      url: bed.db.url,
      applicationName: "stall-quick-locks",
      lockTimeoutMs: 200,
      onError: () => undefined,
    });
    let healthy: Awaited<ReturnType<typeof replica>> | undefined;
    try {
      await place();
      await waitFor(() => stuck.control.hanging === 1, { description: "the stuck replica's batch hanging" });
      const queued = await Promise.all(Array.from({ length: 599 }, place));
      await waitFor(async () => (await info("bounce")).delivered.consumer_seq >= 600, {
        description: "every event delivered to the stuck replica",
      });
      // The stuck replica alone: once it has stalled (its pulls closed, the server told,
      // its queue handed back), no pull of its is open on the server.
      await waitFor(() => stuck.control.paused === 1, { description: "the stuck replica paused" });
      healthy = await replica("bounce", ackWaitMs, { hang: false, pool: quickLocks });
      const { seen } = healthy.control;
      await waitFor(() => queued.every((e) => seen.has(e.eventId)), {
        timeoutMs: 12_000,
        description: "every queued event applied by the healthy replica",
      });
      // Delivered to the stuck replica, handed back, delivered to the healthy one: 2.
      // Handed back while the stuck replica's pull was still open on the server, most
      // came straight back to it (3); handed back once its subscription was gone but
      // before the server dropped its pull request, the first waited out its ack wait
      // (nats-server 2.9 counted a delivery for it, 3) and another event was delivered
      // a second time.
      const counts = queued.map((e) => seen.get(e.eventId) ?? 0);
      expect({ bouncedBack: counts.filter((n) => n > 2).length, most: Math.max(...counts) }).toEqual({
        bouncedBack: 0,
        most: 2,
      });
    } finally {
      stuck.control.release();
      await healthy?.consumer.stop();
      await stuck.consumer.stop();
      await quickLocks.end();
    }
  });

  it("leaves no pull open on the server once stop() returns, whenever it comes around the batch's end", async () => {
    const ackWaitMs = 600;
    for (const offsetMs of [-1, 0, 1, 5, 20]) {
      const name = `stopper${offsetMs + 1}`;
      const { control, consumer } = await replica(name, ackWaitMs);
      await place();
      await waitFor(() => control.hanging === 1, { description: "the batch hanging" });
      await waitFor(() => control.paused === 1, { description: "pulling paused" });
      // -1: stop() in the same tick as the batch's end (the resume not yet run).
      control.release();
      if (offsetMs >= 0) await pause(offsetMs);
      await consumer.stop();
      const before = await info(name);
      await place();
      // Nothing must arrive: a window long enough for a pull still open to be served.
      await pause(300);
      const after = await info(name);
      expect({ offsetMs, waiting: after.num_waiting, delivered: after.delivered.consumer_seq }).toEqual({
        offsetMs,
        waiting: 0,
        delivered: before.delivered.consumer_seq,
      });
    }
  }, 60_000);

  it("when every replica hangs, leaves the events waiting on the server instead of going round", async () => {
    const ackWaitMs = 1_500;
    const replicas = [await replica("allstuck", ackWaitMs), await replica("allstuck", ackWaitMs)];
    try {
      const placed = await Promise.all(Array.from({ length: 40 }, place));
      await waitFor(() => replicas.every(({ control }) => control.hanging === 1 && control.paused === 1), {
        description: "a batch hanging in each replica, and its pulls paused",
      });
      const paused = await info("allstuck");
      // Nothing must be delivered for three ack waits, while the hanging batches' events come due.
      await pause(ackWaitMs * 3);
      const later = await info("allstuck");
      // The hanging batches' own events wait out their ack wait and are due again, but
      // nobody pulls: the server delivers nothing more.
      expect(later.delivered.consumer_seq).toBe(paused.delivered.consumer_seq);
      for (const { control } of replicas) control.release();
      await waitFor(
        async () =>
          (
            await bed.pool.query("SELECT count(*)::int AS n FROM applied WHERE event_id = ANY($1)", [
              placed.map((e) => e.eventId),
            ])
          ).rows[0].n === placed.length,
        { description: "every event applied once the replicas recover" },
      );
    } finally {
      for (const { control } of replicas) control.release();
      for (const { consumer } of replicas) await consumer.stop();
    }
  }, 30_000);
});
