import { randomUUID } from "node:crypto";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
  OrderRejectedSchema,
} from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { createPool } from "@shopmesh/pg";
import { startTcpProxy, waitFor } from "@shopmesh/testing";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { onTx, publishEvent, startConsumer } from "../src/index.js";
import { useEventsTestbed } from "./testbed.js";

const bed = useEventsTestbed(
  "database gone",
  "CREATE TABLE applied (event_id uuid PRIMARY KEY); CREATE TABLE hot (id int PRIMARY KEY); INSERT INTO hot VALUES (1); CREATE TABLE applied_beside_hot (event_id uuid PRIMARY KEY); CREATE TABLE applied_after_outage (event_id uuid PRIMARY KEY)",
);

/**
 * A pool on the test database through a proxy whose network the test then fails, and
 * how to close both. Short timeouts by default, so that the old ways of waiting (one per
 * event, then one per batch of a full queue) add up to far more than the tests' bounds.
 */
async function poolThroughProxy(applicationName: string, timeoutMs = { acquire: 500, answer: 1_000 }) {
  const proxy = await startTcpProxy(bed.db.url);
  const pool = createPool({
    url: proxy.url,
    applicationName,
    acquireTimeoutMs: timeoutMs.acquire,
    answerTimeoutMs: timeoutMs.answer,
    onError: () => undefined,
  });
  return {
    proxy,
    pool,
    async close() {
      await proxy.close();
      await pool.end().catch(() => undefined);
    },
  };
}

/** A pool on a database gone from the network, after the pool holds a connection. */
async function poolOnPartitionedDatabase(applicationName: string) {
  const through = await poolThroughProxy(applicationName);
  await through.pool.query("SELECT 1");
  through.proxy.partition();
  return through;
}

describe("a batch that meets a database gone from the network", () => {
  it("is handed back whole at once, not tried again event by event, each waiting for its own timeout", async () => {
    const events = 32; // one batch, of a type the other test's consumers do not read
    for (let i = 0; i < events; i++) {
      await publishEvent(bed.js, bed.catalog, OrderCancelledSchema, { orderId: randomUUID(), reason: "r" });
    }
    const { pool, close } = await poolOnPartitionedDatabase("database-gone-batch");
    const lines: string[] = [];
    const consumer = await startConsumer({
      ...bed.consumer,
      logger: pino({ level: "warn" }, { write: (line: string) => void lines.push(line) }),
      pool,
      name: "gone-batch",
      retryDelaysMs: [60_000], // no second attempt during the test
      subscriptions: [onTx(OrderCancelledSchema, async () => {})],
    });
    const logged = () => lines.map((line) => JSON.parse(line) as { msg: string; handedBack?: number });
    // Failed with the batch, or queued behind it and handed back when the consumer paused.
    const handedBack = () =>
      logged().reduce(
        (sum, line) =>
          sum +
          (line.msg === "event failed"
            ? 1
            : line.msg.startsWith("the database is down or unreachable")
              ? (line.handedBack ?? 0)
              : 0),
        0,
      );
    try {
      // The batch's statement waits for its answer (1 s), then every event is handed
      // back; tried again one by one, the last would fail after 32 waits to connect (16 s).
      await waitFor(() => handedBack() === events, { timeoutMs: 8_000, description: "every event handed back" });
      expect(lines.filter((line) => line.includes("applying one by one"))).toEqual([]);
    } finally {
      await consumer.stop();
      await close();
    }
  });
});

describe("a batch one of whose events waits past lock_timeout for a row locked elsewhere", () => {
  it("is not the database gone: the other events are applied at once, only the culprit is retried", async () => {
    const pool = createPool({
      url: bed.db.url,
      applicationName: "database-locked",
      lockTimeoutMs: 200,
      onError: () => undefined,
    });
    // Someone else's transaction holding the row (an operator's tool, a slow request).
    const holder = await bed.pool.connect();
    await holder.query("BEGIN");
    await holder.query("SELECT 1 FROM hot WHERE id = 1 FOR UPDATE");
    const innocents = 20;
    const culprit = await publishEvent(bed.js, bed.catalog, OrderRejectedSchema, {
      orderId: randomUUID(),
      reason: "hot",
    });
    for (let i = 0; i < innocents; i++) {
      await publishEvent(bed.js, bed.catalog, OrderRejectedSchema, { orderId: randomUUID(), reason: "innocent" });
    }
    const lines: string[] = [];
    const consumer = await startConsumer({
      ...bed.consumer,
      logger: pino({ level: "warn" }, { write: (line: string) => void lines.push(line) }),
      pool,
      name: "locked",
      retryDelaysMs: [60_000], // no second attempt during the test
      subscriptions: [
        onTx(OrderRejectedSchema, async (event, tx) => {
          if (event.reason === "hot") await tx.query("SELECT 1 FROM hot WHERE id = 1 FOR UPDATE");
          await tx.query("INSERT INTO applied_beside_hot (event_id) VALUES ($1)", [event.eventId]);
        }),
      ],
    });
    const failed = () =>
      lines
        .map((line) => JSON.parse(line) as { msg: string; eventId?: string })
        .filter((line) => line.msg === "event failed")
        .map((line) => line.eventId);
    try {
      await waitFor(() => failed().length > 0, { description: "the culprit failed" });
      await waitFor(
        async () => (await bed.pool.query("SELECT count(*)::int AS n FROM applied_beside_hot")).rows[0].n === innocents,
        {
          description: "the other events applied",
        },
      );
      expect(failed()).toEqual([culprit.eventId]);
    } finally {
      await holder.query("ROLLBACK");
      holder.release();
      await consumer.stop();
      await pool.end();
    }
  });
});

describe("a replica stopped while its database is gone from the network", () => {
  it("stops within the ack wait, handing back what it holds; another replica applies each event once", async () => {
    const ackWaitMs = 9_000;
    const events = 1_000; // the consumer's max_ack_pending: a full queue
    for (let i = 0; i < events; i++) {
      await publishEvent(bed.js, bed.catalog, OrderPlacedSchema, { orderId: randomUUID(), customerId: "c" });
    }
    const { pool, close } = await poolOnPartitionedDatabase("database-gone");
    const apply = onTx(OrderPlacedSchema, async (event, tx) => {
      await tx.query("INSERT INTO applied (event_id) VALUES ($1)", [event.eventId]);
    });
    const gone = await startConsumer({ ...bed.consumer, pool, ackWaitMs, name: "gone", subscriptions: [apply] });
    const stream = bed.catalog.streamName("ORDERS");
    let healthy: Awaited<ReturnType<typeof startConsumer>> | undefined;
    try {
      await waitFor(async () => (await bed.jsm.consumers.info(stream, "gone")).num_ack_pending === events, {
        description: "the replica holding every event",
      });
      let stopped = false;
      const stopping = gone.stop().then(() => {
        stopped = true;
      });
      await waitFor(() => stopped, { timeoutMs: ackWaitMs, description: "stop() to return within the ack wait" });
      await stopping;

      healthy = await startConsumer({ ...bed.consumer, ackWaitMs, name: "gone", subscriptions: [apply] });
      const applied = async () => Number((await bed.pool.query("SELECT count(*) FROM applied")).rows[0].count);
      await waitFor(async () => (await applied()) === events, {
        timeoutMs: 30_000,
        description: "every event applied",
      });
      await waitFor(async () => (await bed.jsm.consumers.info(stream, "gone")).num_ack_pending === 0, {
        description: "every event acked",
      });
      expect(await applied()).toBe(events);
    } finally {
      await healthy?.stop();
      await close();
    }
  }, 60_000);
});

describe("a consumer whose database is down for longer than its deliveries would last", () => {
  it("waits for it without pulling, and applies the events once it answers instead of parking them", async () => {
    const { proxy, pool, close } = await poolThroughProxy("database-down");
    proxy.refuse();
    const events = 3; // of a type the other tests' consumers do not read
    for (let i = 0; i < events; i++) {
      await publishEvent(bed.js, bed.catalog, OrderConfirmedSchema, { orderId: randomUUID() });
    }
    // Retried every 20 ms, each event would pass its 3 deliveries within a few tenths of a second.
    const consumer = await startConsumer({
      ...bed.consumer,
      pool,
      name: "down",
      maxAttempts: 2,
      maxDeliveries: 3,
      retryDelaysMs: [20],
      subscriptions: [
        onTx(OrderConfirmedSchema, async (event, tx) => {
          await tx.query("INSERT INTO applied_after_outage (event_id) VALUES ($1)", [event.eventId]);
        }),
      ],
    });
    const parked = async () => (await bed.jsm.streams.info(bed.catalog.deadLetterStream)).state.messages;
    const applied = async () =>
      Number((await bed.pool.query("SELECT count(*) FROM applied_after_outage")).rows[0].count);
    try {
      // Down for 40 attempts to connect: ten times the deliveries an event has.
      await waitFor(async () => proxy.refused >= 40 || (await parked()) > 0, {
        description: "an outage longer than the deliveries last",
      });
      expect(await parked()).toBe(0);
      proxy.heal();
      await waitFor(async () => (await applied()) === events, { description: "every event applied" });
      expect(await parked()).toBe(0);
    } finally {
      await consumer.stop();
      await close();
    }
  });
});

describe("a replica stopped while it waits for its database", () => {
  it("returns at once, not when the question it asked the database times out", async () => {
    // Long timeouts: a connection attempt to a database gone from the network is given up after 20 s.
    const { proxy, pool, close } = await poolThroughProxy("database-wait-stop", { acquire: 20_000, answer: 20_000 });
    proxy.refuse();
    await publishEvent(bed.js, bed.catalog, OrderPlacedSchema, { orderId: randomUUID(), customerId: "c" });
    const ackWaitMs = 9_000; // stop() applies what it holds for 3 s at most
    const consumer = await startConsumer({
      ...bed.consumer,
      pool,
      ackWaitMs,
      name: "wait-stop",
      retryDelaysMs: [50],
      subscriptions: [onTx(OrderPlacedSchema, async () => {})],
    });
    let stopped = false;
    try {
      // The consumer asks the refusing database again and again; then it is gone from the
      // network, and the next question waits for its connection.
      const asked = proxy.refused;
      await waitFor(() => proxy.refused >= asked + 3, { description: "the consumer waiting for its database" });
      proxy.heal();
      proxy.partition();
      await waitFor(() => proxy.unanswered > 0, { description: "a question to the database unanswered" });
      const stopping = consumer.stop().then(() => {
        stopped = true;
      });
      await waitFor(() => stopped, { timeoutMs: ackWaitMs / 3, description: "stop() to return" });
      await stopping;
    } finally {
      if (!stopped) await consumer.stop();
      await close();
    }
  });
});
