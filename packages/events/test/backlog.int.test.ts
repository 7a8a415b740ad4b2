import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { OrderCancelledSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { useTestDatabase, useTestNats, waitFor } from "@shopmesh/testing";
import type pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allEvents, createEventCatalog, ensureStreams, onTx, publishEvent, startConsumer } from "../src/index.js";
import { openEventsTestbed } from "./testbed.js";

const db = useTestDatabase("backlog");
const testNats = useTestNats("backlog");
const logger = pino({ level: "silent" });
let pool: pg.Pool;
let js: JetStreamClient;
let jsm: JetStreamManager;
const catalog = createEventCatalog(allEvents, testNats.prefix);

beforeAll(async () => {
  ({ pool, js, jsm } = await openEventsTestbed(db, testNats, "backlog-test"));
  await pool.query("CREATE TABLE applied (event_id uuid PRIMARY KEY)");
  await ensureStreams(jsm, catalog);
});

afterAll(async () => {
  await pool?.end();
});

describe("a consumer working through a backlog longer than its ack wait", () => {
  it("keeps the events it has taken but not reached from being delivered again", async () => {
    // nats.js takes the whole backlog at once (up to max_ack_pending). 300 events, 10 ms
    // of database work each: the last are reached ~3 s after they arrived, past the 2 s
    // ack wait — and would be redelivered while their first copy still waits its turn.
    const events = 300;
    for (let i = 0; i < events; i++) {
      await publishEvent(js, catalog, OrderCancelledSchema, { orderId: crypto.randomUUID(), reason: "backlog" });
    }
    let redelivered = 0;
    const consumer = await startConsumer({
      js,
      jsm,
      pool,
      logger,
      catalog,
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
          const info = await jsm.consumers.info(catalog.streamName("ORDERS"), "backlog");
          return info.ack_floor.stream_seq === events && info.num_ack_pending === 0;
        },
        { description: "every event applied and acked", timeoutMs: 30_000 },
      );
    } finally {
      await consumer.stop();
    }
    const info = await jsm.consumers.info(catalog.streamName("ORDERS"), "backlog");
    expect((await pool.query("SELECT count(*)::int AS n FROM applied")).rows[0].n).toBe(events);
    expect({ deliveries: info.delivered.consumer_seq, redelivered }).toEqual({ deliveries: events, redelivered: 0 });
  });
});
