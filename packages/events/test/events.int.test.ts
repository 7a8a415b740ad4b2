import { toBinary } from "@bufbuild/protobuf";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
  OrderRejectedSchema,
} from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { awaitAtCommit, createPool, withTx } from "@shopmesh/pg";
import { freePort, useTestDatabase, useTestNats, waitFor } from "@shopmesh/testing";
import type pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allEvents,
  createEventCatalog,
  createOutbox,
  ensureStreams,
  on,
  onTx,
  PermanentEventError,
  publishEvent,
  republishOutbox,
  startConsumer,
  startOutboxRelay,
} from "../src/index.js";
import { openEventsTestbed } from "./testbed.js";

const db = useTestDatabase("events");
const testNats = useTestNats("events");
const logger = pino({ level: "silent" });
const orderId = () => crypto.randomUUID();

describe("outbox relay and consumers on real PostgreSQL and JetStream", () => {
  let pool: pg.Pool;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const catalog = createEventCatalog(allEvents, testNats.prefix);
  const outbox = createOutbox(catalog);

  beforeAll(async () => {
    ({ pool, js, jsm } = await openEventsTestbed(db, testNats, "events-test"));
    await pool.query("CREATE TABLE applied (event_id uuid PRIMARY KEY, order_id uuid NOT NULL)");
    await ensureStreams(jsm, catalog);
  });

  afterAll(async () => {
    await pool?.end();
  });

  /** What every consumer here is started with besides its own options. */
  const plumbing = () => ({ js, jsm, pool, logger, catalog });
  const streamCount = async () => (await jsm.streams.info(catalog.streamName("ORDERS"))).state.messages;
  const placed = (id: string) => ({ orderId: id, customerId: "c1", paymentToken: "tok_visa" });

  const unpublished = async () =>
    (await pool.query("SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL")).rows[0].n as number;
  const isPublished = async (eventId: string) =>
    (await pool.query("SELECT 1 FROM outbox WHERE event_id = $1 AND published_at IS NOT NULL", [eventId])).rowCount ===
    1;
  /** Ends the writers' claims on unpublished rows, as time does for a writer that never handed them over. */
  const endWriterClaims = () =>
    pool.query("UPDATE outbox SET claimed_until = now() - interval '1 second' WHERE published_at IS NULL");
  /** A pool that counts the relay's claims answered, and the rows they claimed. */
  const countingClaims = () => {
    const counted = { claims: 0, claimedRows: 0 };
    const countingPool = new Proxy(pool, {
      get(target, property, receiver) {
        if (property !== "query") return Reflect.get(target, property, receiver);
        return async (...args: unknown[]) => {
          const answer = await Reflect.apply(target.query, target, args);
          if ((args[0] as { name?: string }).name === "events.outbox-mark-and-claim") {
            counted.claims++;
            counted.claimedRows += answer.rowCount;
          }
          return answer;
        };
      },
    });
    return { counted, countingPool };
  };

  it("publishes what a commit hands over at once, without a claim, and never what rolled back", async () => {
    const before = await streamCount();
    const handingOutbox = createOutbox(catalog);
    // The poll comes once, at start: only the hand-over can publish the rows below.
    const { counted, countingPool } = countingClaims();
    const relay = startOutboxRelay({ pool: countingPool, js, logger, fallbackPollMs: 600_000 });
    handingOutbox.onWritten(relay.handOff);
    try {
      await waitFor(() => counted.claims === 1, { description: "the relay's first poll answered" });
      await withTx(pool, (tx) => handingOutbox.append(tx, OrderPlacedSchema, placed(orderId())));
      await withTx(pool, async (tx) => {
        await handingOutbox.append(tx, OrderPlacedSchema, placed(orderId()));
        throw new Error("rolled back");
      }).catch(() => undefined);
      await withTx(pool, (tx) => handingOutbox.append(tx, OrderCancelledSchema, { orderId: orderId(), reason: "r" }));
      await waitFor(async () => (await streamCount()) === before + 2 && (await unpublished()) === 0, {
        description: "two events on the stream and marked published",
      });
      // Marked by the relay's statement, which claimed nothing: the writer's claim holds.
      expect(counted.claims).toBeGreaterThan(1);
      expect(counted.claimedRows).toBe(0);
    } finally {
      await relay.stop();
    }
    expect(await streamCount()).toBe(before + 2);
  });

  it("hands nothing over, and leaves no unhandled rejection, when a statement that writes rows fails in withTx", async () => {
    const rejections: unknown[] = [];
    const record = (reason: unknown) => rejections.push(reason);
    process.on("unhandledRejection", record);
    const handed: unknown[] = [];
    const handingOutbox = createOutbox(catalog);
    handingOutbox.onWritten((rows) => handed.push(...rows));
    try {
      const failure = await withTx(pool, async (tx) => {
        // As a store does: the statement is awaited at commit, its rows told to the outbox.
        const failing = tx.query<{ outbox_written: null }>("SELECT 1 / 0 AS outbox_written");
        handingOutbox.written(tx, [handingOutbox.prepare(OrderPlacedSchema, placed(orderId()))], failing);
        await awaitAtCommit(tx, failing);
      }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect((failure as { code?: string }).code).toBe("22012");
      // Node reports a rejection nobody handles once the microtasks of its turn have run.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("unhandledRejection", record);
    }
    expect(rejections).toEqual([]);
    expect(handed).toEqual([]);
  });

  it("reports a hand-over that throws as a process warning, and leaves the row to a relay's poll", async () => {
    const before = await streamCount();
    const rejections: unknown[] = [];
    const warnings: Error[] = [];
    const recordRejection = (reason: unknown) => rejections.push(reason);
    const recordWarning = (warning: Error) => warnings.push(warning);
    process.on("unhandledRejection", recordRejection);
    process.on("warning", recordWarning);
    const handingOutbox = createOutbox(catalog);
    handingOutbox.onWritten(() => {
      throw new Error("relay gone");
    });
    try {
      const event = await withTx(pool, (tx) => handingOutbox.append(tx, OrderPlacedSchema, placed(orderId())));
      await waitFor(() => warnings.some((warning) => warning.message.includes("relay gone")), {
        description: "the warning",
      });
      await endWriterClaims();
      const relay = startOutboxRelay({ pool, js, logger, fallbackPollMs: 20 });
      try {
        await waitFor(() => isPublished(event.eventId), { description: "the row published by the poll" });
      } finally {
        await relay.stop();
      }
    } finally {
      process.off("unhandledRejection", recordRejection);
      process.off("warning", recordWarning);
    }
    expect(rejections).toEqual([]);
    expect(await streamCount()).toBe(before + 1);
  });

  it("leaves rows their writer did not hand over to a relay's poll once the writer's claim ends", async () => {
    const before = await streamCount();
    const { counted, countingPool } = countingClaims();
    const relay = startOutboxRelay({ pool: countingPool, js, logger, fallbackPollMs: 20 });
    try {
      // A writer that crashed after its commit: nobody is told of the row.
      const event = await withTx(pool, (tx) => outbox.append(tx, OrderPlacedSchema, placed(orderId())));
      const claimsAfterCommit = counted.claims;
      await waitFor(() => counted.claims >= claimsAfterCommit + 3, { description: "three polls after the commit" });
      expect(await streamCount()).toBe(before); // still the writer's
      await endWriterClaims();
      await waitFor(() => isPublished(event.eventId), { description: "the row published by the poll and marked" });
    } finally {
      await relay.stop();
    }
    expect(await streamCount()).toBe(before + 1);
  });

  it("hands a row whose publish failed back to the poll at once, not after the writer's claim", async () => {
    const before = await streamCount();
    let failures = 1;
    const flakyJs = {
      publish: (...args: Parameters<JetStreamClient["publish"]>) => {
        if (failures-- > 0) return Promise.reject(new Error("NATS unreachable"));
        return js.publish(...args);
      },
    } as JetStreamClient;
    const handingOutbox = createOutbox(catalog);
    const relay = startOutboxRelay({ pool, js: flakyJs, logger, fallbackPollMs: 20 });
    handingOutbox.onWritten(relay.handOff);
    try {
      const event = await withTx(pool, (tx) => handingOutbox.append(tx, OrderPlacedSchema, placed(orderId())));
      // Well inside the writer's 10 s claim.
      await waitFor(() => isPublished(event.eventId), {
        description: "the row published by the poll after the failed hand-over",
        timeoutMs: 5_000,
      });
    } finally {
      await relay.stop();
    }
    expect(failures).toBeLessThan(0);
    expect(await streamCount()).toBe(before + 1);
  });

  it("marks the rows of a batch that reached the stream, though another row's publish keeps failing", async () => {
    await pool.query("UPDATE outbox SET published_at = now() WHERE published_at IS NULL");
    // A row no stream takes (its subject is routed nowhere): every publish of it fails.
    const lost = outbox.prepare(OrderPlacedSchema, placed(orderId()));
    await pool.query(
      "INSERT INTO outbox (event_id, subject, event_type, payload, headers) VALUES ($1, $2, $3, $4, $5)",
      [lost.eventId, `${testNats.prefix}.nowhere.placed`, lost.eventType, Buffer.from(lost.payload), lost.headers],
    );
    const behind = await withTx(pool, async (tx) => [
      await outbox.append(tx, OrderPlacedSchema, placed(orderId())),
      await outbox.append(tx, OrderPlacedSchema, placed(orderId())),
    ]);
    await endWriterClaims();
    const relay = startOutboxRelay({ pool, js, logger, batchSize: 3, fallbackPollMs: 20 });
    try {
      await waitFor(
        async () => (await isPublished(behind[0]?.eventId ?? "")) && isPublished(behind[1]?.eventId ?? ""),
        {
          description: "the rows published beside the failing one marked",
        },
      );
    } finally {
      await relay.stop();
    }
    expect(await isPublished(lost.eventId)).toBe(false);
    await pool.query("DELETE FROM outbox WHERE event_id = $1", [lost.eventId]);
  });

  it("lets several relays share the outbox without publishing a row twice", async () => {
    const before = await streamCount();
    const relays = [1, 2, 3].map(() => startOutboxRelay({ pool, js, logger, batchSize: 7, fallbackPollMs: 20 }));
    try {
      await Promise.all(
        Array.from({ length: 20 }, () =>
          withTx(pool, async (tx) => {
            for (let i = 0; i < 10; i++) await outbox.append(tx, OrderPlacedSchema, placed(orderId()));
          }),
        ),
      );
      await endWriterClaims();
      await waitFor(async () => (await unpublished()) === 0, { description: "outbox drained" });
    } finally {
      await Promise.all(relays.map((relay) => relay.stop()));
    }
    expect(await streamCount()).toBe(before + 200);
  });

  it("a relay whose claim is answered after its lease publishes nothing; the relay that takes the rows over does", async () => {
    await pool.query("UPDATE outbox SET published_at = now() WHERE published_at IS NULL");
    const before = await streamCount();
    // Relay A stalls (paused, starved) while its claim's answer waits: until the database
    // says the lease it took (1 s) has ended.
    let claimAnswered = false;
    const stalledPool = new Proxy(pool, {
      get(target, property, receiver) {
        if (property !== "query") return Reflect.get(target, property, receiver);
        return async (...args: unknown[]) => {
          const answer = await Reflect.apply(target.query, target, args);
          if ((args[0] as { name?: string }).name === "events.outbox-mark-and-claim" && answer.rowCount > 0) {
            const ids = (answer.rows as { id: string }[]).map((row) => row.id);
            await waitFor(
              async () =>
                (await target.query("SELECT 1 FROM outbox WHERE id = ANY($1) AND claimed_until < now()", [ids]))
                  .rowCount === ids.length,
              { description: "relay A's lease ended" },
            );
            claimAnswered = true;
          }
          return answer;
        };
      },
    });
    let publishedByA = 0;
    const countingJs = {
      publish: (...args: Parameters<JetStreamClient["publish"]>) => {
        publishedByA++;
        return js.publish(...args);
      },
    } as JetStreamClient;
    const lease = { leaseMs: 1_000, fallbackPollMs: 100 };
    const relayA = startOutboxRelay({ pool: stalledPool, js: countingJs, logger, ...lease });
    const event = await withTx(pool, (tx) => outbox.append(tx, OrderPlacedSchema, placed(orderId())));
    await endWriterClaims();
    await waitFor(async () => claimAnswered, { description: "relay A's late claim answered" });
    const relayB = startOutboxRelay({ pool, js, logger, ...lease });
    try {
      await waitFor(() => isPublished(event.eventId), { description: "the row published and marked by relay B" });
    } finally {
      await Promise.all([relayA.stop(), relayB.stop()]);
    }
    expect(publishedByA).toBe(0);
    expect(await streamCount()).toBe(before + 1);
  });

  it("re-publishes a range of rows without duplicating them on the stream (Nats-Msg-Id)", async () => {
    const before = await streamCount();
    const { rows } = await pool.query("SELECT min(id) AS lo, max(id) AS hi FROM outbox");
    const sent = await republishOutbox(pool, js, BigInt(rows[0].lo), BigInt(rows[0].hi));
    expect(sent).toBeGreaterThan(200);
    expect(await streamCount()).toBe(before);
  });

  it("re-publishing marks published only the rows it sent, not one that committed meanwhile", async () => {
    // A transaction takes an outbox id and stays open while a later one commits.
    const late = await pool.connect();
    try {
      await late.query("BEGIN");
      const lateEvent = await outbox.append(late, OrderPlacedSchema, placed(orderId()));
      await withTx(pool, (tx) => outbox.append(tx, OrderPlacedSchema, placed(orderId())));
      const { rows } = await pool.query<{ hi: string }>("SELECT max(id)::text AS hi FROM outbox");
      // The late transaction commits while the range's rows are being published.
      let committed = false;
      const committingJs = {
        publish: async (...args: Parameters<JetStreamClient["publish"]>) => {
          if (!committed) {
            committed = true;
            await late.query("COMMIT");
          }
          return js.publish(...args);
        },
      } as JetStreamClient;
      await republishOutbox(pool, committingJs, BigInt(rows[0]?.hi ?? 0) - 10n, BigInt(rows[0]?.hi ?? 0));
      expect(committed).toBe(true);
      const { rows: marked } = await pool.query("SELECT published_at FROM outbox WHERE event_id = $1", [
        lateEvent.eventId,
      ]);
      expect(marked[0]?.published_at).toBeNull();
    } finally {
      late.release();
    }
  });

  it("applies an event once however often it is delivered, retries failures, dead-letters poison", async () => {
    const failingOrder = orderId();
    const poisonOrder = orderId();
    const attempts = new Map<string, number>();
    const consumer = await startConsumer({
      ...plumbing(),
      name: "applier",
      maxAttempts: 3,
      retryDelaysMs: [20],
      subscriptions: [
        on(OrderPlacedSchema, async (event, context) => {
          attempts.set(event.orderId, (attempts.get(event.orderId) ?? 0) + 1);
          if (event.orderId === failingOrder && context.deliveryCount < 3) throw new Error("transient");
          if (event.orderId === poisonOrder) throw new PermanentEventError("cannot apply");
          await context.transaction((tx) =>
            tx.query("INSERT INTO applied (event_id, order_id) VALUES ($1, $2)", [event.eventId, event.orderId]),
          );
        }),
      ],
    });
    try {
      const twice = orderId();
      const event = await publishEvent(js, catalog, OrderPlacedSchema, placed(twice));
      const replay = natsHeaders();
      replay.set("Shopmesh-Key", twice);
      await js.publish(catalog.route(OrderPlacedSchema).subject, toBinary(OrderPlacedSchema, event), {
        headers: replay,
        msgID: "replayed-after-the-duplicate-window",
      });
      await publishEvent(js, catalog, OrderPlacedSchema, placed(failingOrder));
      await publishEvent(js, catalog, OrderPlacedSchema, placed(poisonOrder));
      const bad = natsHeaders();
      bad.set("Shopmesh-Event-Id", "x");
      await js.publish(catalog.route(OrderPlacedSchema).subject, new Uint8Array([0xff, 0xff, 0xff]), { headers: bad });
      const after = orderId();
      await publishEvent(js, catalog, OrderPlacedSchema, placed(after));

      const applied = async (id: string) =>
        (await pool.query("SELECT count(*)::int AS n FROM applied WHERE order_id = $1", [id])).rows[0].n as number;
      await waitFor(async () => (await applied(after)) === 1 && (await applied(failingOrder)) === 1, {
        description: "valid events applied",
      });
      expect(await applied(twice)).toBe(1);
      expect(attempts.get(twice)).toBe(2);
      expect(attempts.get(failingOrder)).toBe(3);

      const deadLetters = await waitFor(
        async () => {
          const info = await jsm.streams.info(catalog.deadLetterStream);
          return info.state.messages >= 2 ? info.state.messages : undefined;
        },
        { description: "poison events dead-lettered" },
      );
      expect(deadLetters).toBe(2);
      expect(attempts.get(poisonOrder)).toBe(1);
      const reasons = [];
      for (let seq = 1; seq <= 2; seq++) {
        const message = await jsm.streams.getMessage(catalog.deadLetterStream, { seq });
        reasons.push(message?.header.get("Shopmesh-Dead-Letter-Reason"));
      }
      expect(reasons.sort()).toEqual(["cannot apply", "undecodable payload"]);
      await waitFor(
        async () => {
          const info = await jsm.consumers.info(catalog.streamName("ORDERS"), "applier");
          return info.num_pending === 0 && info.num_ack_pending === 0;
        },
        { description: "every event acked or terminated, none left pending" },
      );
    } finally {
      await consumer.stop();
    }
  });

  it("skips a redelivered event in a batch handler whose effect cannot be applied twice", async () => {
    // The handler's INSERT travels before the inbox claim's answer is read: on a
    // redelivery it fails on its own primary key, and that failure is the inbox's
    // "applied before", not the event's — retried, it would end dead-lettered.
    const consumer = await startConsumer({
      ...plumbing(),
      name: "insert-once",
      maxAttempts: 2,
      retryDelaysMs: [10],
      subscriptions: [
        onTx(OrderConfirmedSchema, async (event, tx, delivery) => {
          await tx.query("INSERT INTO applied (event_id, order_id) VALUES ($1, $2)", [delivery.eventId, event.orderId]);
        }),
      ],
    });
    try {
      const id = orderId();
      const deadLettersBefore = (await jsm.streams.info(catalog.deadLetterStream)).state.messages;
      const event = await publishEvent(js, catalog, OrderConfirmedSchema, { orderId: id });
      const applied = async () =>
        (await pool.query("SELECT count(*)::int AS n FROM applied WHERE order_id = $1", [id])).rows[0].n as number;
      await waitFor(async () => (await applied()) === 1, { description: "the event applied" });
      const again = natsHeaders();
      again.set("Shopmesh-Key", id);
      const { seq } = await js.publish(
        catalog.route(OrderConfirmedSchema).subject,
        toBinary(OrderConfirmedSchema, event),
        {
          headers: again,
          msgID: "redelivered-past-the-duplicate-window",
        },
      );
      await waitFor(
        async () => {
          const info = await jsm.consumers.info(catalog.streamName("ORDERS"), "insert-once");
          return info.ack_floor.stream_seq >= seq && info.num_ack_pending === 0;
        },
        { description: "the second copy acked" },
      );
      expect(await applied()).toBe(1);
      expect((await jsm.streams.info(catalog.deadLetterStream)).state.messages).toBe(deadLettersBefore);
    } finally {
      await consumer.stop();
    }
  });

  it("dead-letters an event that keeps failing after the bounded attempts, and the stream keeps flowing", async () => {
    const stuck = orderId();
    const next = orderId();
    const seen: string[] = [];
    const consumer = await startConsumer({
      ...plumbing(),
      name: "strict",
      maxAttempts: 2,
      retryDelaysMs: [10],
      subscriptions: [
        on(OrderCancelledSchema, async (event) => {
          seen.push(event.orderId);
          if (event.orderId === stuck) throw new Error("always fails");
        }),
      ],
    });
    try {
      const before = (await jsm.streams.info(catalog.deadLetterStream)).state.messages;
      await publishEvent(js, catalog, OrderCancelledSchema, { orderId: stuck, reason: "x" });
      await publishEvent(js, catalog, OrderCancelledSchema, { orderId: next, reason: "y" });
      await waitFor(async () => (await jsm.streams.info(catalog.deadLetterStream)).state.messages === before + 1, {
        description: "stuck event dead-lettered",
      });
      expect(seen.filter((id) => id === stuck)).toHaveLength(2);
      expect(seen).toContain(next);
      const last = await jsm.streams.getMessage(catalog.deadLetterStream, {
        last_by_subj: catalog.deadLetterSubject("strict"),
      });
      expect(last?.header.get("Shopmesh-Dead-Letter-Reason")).toBe("always fails");
      expect(last?.header.get("Shopmesh-Deliveries")).toBe("2");
    } finally {
      await consumer.stop();
    }
  });

  it("keeps an event whose dead-letter copy fails, and dead-letters it once the copy can be written", async () => {
    // Streams of their own, so that the consumer sees this test's one event only.
    const own = createEventCatalog(allEvents, `${testNats.prefix}_DL`);
    await ensureStreams(jsm, own);
    const copyFailures: string[] = [];
    const watching = pino({ level: "error" }, { write: (line: string) => void copyFailures.push(line) });
    const consumer = await startConsumer({
      ...plumbing(),
      logger: watching,
      catalog: own,
      name: "no-dead-letters",
      maxAttempts: 1,
      retryDelaysMs: [200],
      subscriptions: [
        on(OrderCancelledSchema, async () => {
          throw new Error("always fails");
        }),
      ],
    });
    try {
      await jsm.streams.delete(own.deadLetterStream);
      await publishEvent(js, own, OrderCancelledSchema, { orderId: orderId(), reason: "x" });
      // More deliveries than a server-side bound of attempts + 1 would allow.
      await waitFor(() => copyFailures.filter((line) => line.includes("could not dead-letter")).length >= 3, {
        description: "three failed dead-letter copies of the event",
      });
      await ensureStreams(jsm, own);
      const copied = await waitFor(
        () =>
          jsm.streams
            .getMessage(own.deadLetterStream, { last_by_subj: own.deadLetterSubject("no-dead-letters") })
            .catch(() => undefined),
        { description: "the event dead-lettered once the stream is back" },
      );
      expect(copied?.header.get("Shopmesh-Original-Subject")).toBe(own.route(OrderCancelledSchema).subject);
    } finally {
      await consumer.stop();
    }
  });

  it("retries an event past maxAttempts while its database is unavailable, even between counted failures", async () => {
    const own = createEventCatalog(allEvents, `${testNats.prefix}_DB`);
    await ensureStreams(jsm, own);
    // A database nothing listens on: its queries fail as a restarting server's do.
    const down = createPool({
      url: `postgres://root@127.0.0.1:${await freePort()}/postgres`,
      applicationName: "events-test-down",
      onError: () => undefined,
    });
    // Delivery 1 fails for a reason of its own (attempt 1 of 3), deliveries 2-4 meet
    // the outage (not counted), delivery 5 fails again (attempt 2), delivery 6 applies.
    const outage = new Set([2, 3, 4]);
    const ownFailures = new Set([1, 5]);
    let deliveries = 0;
    const consumer = await startConsumer({
      ...plumbing(),
      catalog: own,
      name: "through-outage",
      maxAttempts: 3,
      retryDelaysMs: [20],
      subscriptions: [
        on(OrderCancelledSchema, async (event, context) => {
          deliveries++;
          if (ownFailures.has(deliveries)) throw new Error("the provider timed out");
          await (outage.has(deliveries) ? down : pool).query("SELECT 1");
          await context.transaction((tx) =>
            tx.query("INSERT INTO applied (event_id, order_id) VALUES ($1, $2)", [event.eventId, event.orderId]),
          );
        }),
      ],
    });
    try {
      const event = await publishEvent(js, own, OrderCancelledSchema, { orderId: orderId(), reason: "x" });
      await waitFor(
        async () => (await pool.query("SELECT 1 FROM applied WHERE event_id = $1", [event.eventId])).rowCount === 1,
        { description: "the event applied once the database is back" },
      );
      expect(deliveries).toBe(6);
      expect((await jsm.streams.info(own.deadLetterStream)).state.messages).toBe(0);
    } finally {
      await consumer.stop();
      await down.end();
    }
  });

  it("delivers a consumer of one event type only that type; one of several types gets the whole stream", async () => {
    const cancelled: string[] = [];
    const narrow = await startConsumer({
      ...plumbing(),
      name: "narrow",
      subscriptions: [on(OrderCancelledSchema, async (event) => void cancelled.push(event.orderId))],
    });
    const wide = await startConsumer({
      ...plumbing(),
      name: "wide",
      subscriptions: [on(OrderCancelledSchema, async () => {}), on(OrderPlacedSchema, async () => {})],
      ignores: [OrderConfirmedSchema, OrderRejectedSchema],
    });
    try {
      const stream = catalog.streamName("ORDERS");
      const delivered = async (name: string) => (await jsm.consumers.info(stream, name)).delivered.consumer_seq;
      const caughtUp = async (name: string) => {
        const info = await jsm.consumers.info(stream, name);
        return info.num_pending === 0 && info.num_ack_pending === 0;
      };
      await waitFor(async () => (await caughtUp("narrow")) && (await caughtUp("wide")), {
        description: "both consumers through the stream's earlier events",
      });
      const [narrowBefore, wideBefore] = [await delivered("narrow"), await delivered("wide")];
      const target = orderId();
      await publishEvent(js, catalog, OrderPlacedSchema, placed(orderId()));
      await publishEvent(js, catalog, OrderCancelledSchema, { orderId: target, reason: "customer" });
      await waitFor(async () => cancelled.includes(target) && (await delivered("wide")) === wideBefore + 2, {
        description: "the cancellation handled by both consumers",
      });
      expect(await delivered("narrow")).toBe(narrowBefore + 1);
      expect((await jsm.consumers.info(stream, "narrow")).config.filter_subject).toBe(
        catalog.route(OrderCancelledSchema).subject,
      );
      expect((await jsm.consumers.info(stream, "wide")).config.filter_subject).toBe(catalog.streamSubjects("ORDERS"));
    } finally {
      await Promise.all([narrow.stop(), wide.stop()]);
    }
  });

  it("applies transactional events in batches: duplicates once, a failing event alone retried, the rest committed", async () => {
    const orders = Array.from({ length: 40 }, () => orderId());
    const bad = orders[17] ?? "";
    let badAttempts = 0;
    for (const id of orders) await publishEvent(js, catalog, OrderPlacedSchema, placed(id));
    const duplicate = await publishEvent(js, catalog, OrderPlacedSchema, placed(orderId()));
    const replay = natsHeaders();
    await js.publish(catalog.route(OrderPlacedSchema).subject, toBinary(OrderPlacedSchema, duplicate), {
      headers: replay,
      msgID: "batched-replay",
    });
    const consumer = await startConsumer({
      ...plumbing(),
      name: "batcher",
      maxAttempts: 3,
      retryDelaysMs: [10],
      subscriptions: [
        onTx(OrderPlacedSchema, async (event, tx, delivery) => {
          if (event.orderId === bad && delivery.deliveryCount < 2) {
            badAttempts++;
            throw new Error("fails on first delivery");
          }
          await tx.query("INSERT INTO applied (event_id, order_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", [
            event.eventId,
            event.orderId,
          ]);
        }),
      ],
    });
    try {
      const count = (ids: string[]) =>
        pool
          .query("SELECT count(*)::int AS n FROM applied WHERE order_id = ANY($1)", [ids])
          .then((result) => result.rows[0].n as number);
      await waitFor(async () => (await count(orders)) === 40, { description: "all 40 applied" });
      expect(await count([duplicate.orderId])).toBe(1);
      expect(badAttempts).toBeGreaterThanOrEqual(1);
      await waitFor(
        async () => {
          const info = await jsm.consumers.info(catalog.streamName("ORDERS"), "batcher");
          return info.num_pending === 0 && info.num_ack_pending === 0;
        },
        { description: "every event acked" },
      );
    } finally {
      await consumer.stop();
    }
  });
});
