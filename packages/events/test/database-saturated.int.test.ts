import { randomUUID } from "node:crypto";
import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { createPool } from "@shopmesh/pg";
import { waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { on, publishEvent, startConsumer } from "../src/index.js";
import { useEventsTestbed } from "./testbed.js";

const bed = useEventsTestbed("database saturated", "CREATE TABLE applied (event_id uuid PRIMARY KEY)");

describe("a consumer whose database answers but refuses it more connections (53300)", () => {
  it("goes on trying each event as it arrives: a saturated database is not waited for idle, as one that is down", async () => {
    // A role allowed one connection: the pool's first one answers (SELECT 1 too), each
    // further one is refused with "too many connections for role" — a server whose
    // max_connections others have taken.
    const role = `capped_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    await bed.pool.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 1`);
    await bed.pool.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${role}`);
    const url = new URL(bed.db.url);
    url.username = role;
    const pool = createPool({
      url: url.toString(),
      applicationName: "database-saturated",
      max: 4,
      onError: () => undefined,
    });
    const events = 300;
    for (let i = 0; i < events; i++) {
      await publishEvent(bed.js, bed.catalog, OrderPlacedSchema, { orderId: randomUUID(), customerId: "c" });
    }
    const attempted = new Set<string>();
    const consumer = await startConsumer({
      ...bed.consumer,
      pool,
      name: "saturated",
      concurrency: 4,
      maxAttempts: 3,
      maxDeliveries: 3,
      retryDelaysMs: [60_000], // an event that failed is not tried again during the test
      subscriptions: [
        on(OrderPlacedSchema, async (event, context) => {
          attempted.add(event.eventId);
          await context.transaction((tx) => tx.query("INSERT INTO applied (event_id) VALUES ($1)", [event.eventId]));
        }),
      ],
    });
    const parked = async () => (await bed.jsm.streams.info(bed.catalog.deadLetterStream)).state.messages;
    try {
      // Each event is tried on its first delivery; one that fails waits out its retry delay.
      await waitFor(async () => attempted.size === events || (await parked()) > 0, {
        timeoutMs: 20_000,
        description: "every event tried once, or one parked",
      });
      expect(await parked()).toBe(0);
    } finally {
      await consumer.stop();
      await pool.end().catch(() => undefined);
      await bed.pool.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${role}`);
      await bed.pool.query(`DROP ROLE ${role}`);
    }
  });
});
