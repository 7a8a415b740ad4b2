import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { AckPolicy, DeliverPolicy } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { waitFor } from "@shopmesh/testing";
import { pino } from "pino";
import { beforeEach, describe, expect, it } from "vitest";
import { deadLetterHeader, firstDeadLetteredAtHeader } from "../src/dead-letter.js";
import {
  inboxOutlivesOutboxDays,
  onTx,
  pruneEvents,
  replayDeadLetter,
  startConsumer,
  startEventPruner,
} from "../src/index.js";
import { deadLetterMaxAgeDays, eventMaxAgeDays } from "../src/streams.js";
import { useEventsTestbed } from "./testbed.js";

const bed = useEventsTestbed("retention", "CREATE TABLE applied (consumer text, event_id uuid)");
const day = 24 * 60 * 60 * 1000;
const retention = { outboxMs: 14 * day, inboxMs: 52 * day };

/** An outbox row written `ageDays` ago, published or not; answers its event id. */
async function outboxRow(ageDays: number, published: boolean): Promise<string> {
  const eventId = randomUUID();
  await bed.pool.query(
    `INSERT INTO outbox (event_id, subject, event_type, payload, created_at, published_at)
     VALUES ($1, 's', 't', '', now() - make_interval(days => $2), CASE WHEN $3 THEN now() - make_interval(days => $2) END)`,
    [eventId, ageDays, published],
  );
  return eventId;
}

/** An inbox row for an event applied `ageDays` ago; answers its event id. */
async function inboxRow(ageDays: number): Promise<string> {
  const eventId = randomUUID();
  await bed.pool.query(
    "INSERT INTO inbox (consumer, event_id, processed_at) VALUES ('c', $1, now() - make_interval(days => $2))",
    [eventId, ageDays],
  );
  return eventId;
}

const outboxIds = async () =>
  (await bed.pool.query<{ event_id: string }>("SELECT event_id FROM outbox ORDER BY id")).rows.map((r) => r.event_id);
const inboxIds = async () =>
  (await bed.pool.query<{ event_id: string }>("SELECT event_id FROM inbox ORDER BY processed_at")).rows.map(
    (r) => r.event_id,
  );

beforeEach(async () => {
  await bed.pool.query("TRUNCATE outbox, inbox, applied");
});

describe("pruning a service's outbox and inbox", () => {
  it("removes published outbox rows and applied inbox rows past their retention, and keeps the rest", async () => {
    // Oldest first, as ids are handed out: rows the relay still owes head the outbox, more
    // than a chunk of them.
    const owed = [await outboxRow(30, false), await outboxRow(30, false), await outboxRow(30, false)];
    for (const age of [29, 25, 20, 16, 15]) await outboxRow(age, true);
    const recent = [await outboxRow(13, true), await outboxRow(0, true), await outboxRow(0, false)];
    for (const age of [90, 70, 60, 53, 53]) await inboxRow(age);
    const applied = [await inboxRow(51), await inboxRow(0)];

    // Chunks of two: pruning goes on past the owed rows, and stops at the first recent row.
    expect(await pruneEvents(bed.pool, retention, { chunk: 2 })).toEqual({ outbox: 5, inbox: 5 });
    expect(await outboxIds()).toEqual([...owed, ...recent]);
    expect(await inboxIds()).toEqual(applied);
    expect(await pruneEvents(bed.pool, retention, { chunk: 2 })).toEqual({ outbox: 0, inbox: 0 });
  });

  it("runs by itself, and again every interval", async () => {
    const pruner = startEventPruner({
      pool: bed.pool,
      retention,
      logger: pino({ level: "silent" }),
      everyMs: 50,
      firstAfterMs: 0,
    });
    try {
      await outboxRow(20, true);
      await inboxRow(60);
      await waitFor(async () => (await outboxIds()).length === 0 && (await inboxIds()).length === 0, {
        description: "the old rows pruned",
      });
      await outboxRow(20, true);
      const kept = await inboxRow(1);
      await waitFor(async () => (await outboxIds()).length === 0, { description: "pruned again" });
      expect(await inboxIds()).toEqual([kept]);
    } finally {
      await pruner.stop();
    }
  });
});

describe("the smallest inbox retention a service accepts", () => {
  /** A consumer that records every event it applies. */
  const recorder = (name: string) =>
    startConsumer({
      ...bed.consumer,
      name,
      subscriptions: [
        onTx(OrderPlacedSchema, async (_event, tx, delivery) => {
          await tx.query("INSERT INTO applied (consumer, event_id) VALUES ($1, $2)", [name, delivery.eventId]);
        }),
      ],
    });
  const timesApplied = async (consumer: string) =>
    (await bed.pool.query("SELECT 1 FROM applied WHERE consumer = $1", [consumer])).rowCount;
  const doneWith = (consumer: string, streamSeq: number) =>
    waitFor(
      async () => {
        const info = await bed.jsm.consumers.info(bed.catalog.streamName("ORDERS"), consumer);
        return info.delivered.stream_seq >= streamSeq && info.num_ack_pending === 0;
      },
      { description: `${consumer} done with stream sequence ${streamSeq}` },
    );
  /** Moves the consumer's inbox rows `days` further into the past. */
  const daysPass = (consumer: string, days: number) =>
    bed.pool.query("UPDATE inbox SET processed_at = processed_at - make_interval(days => $2) WHERE consumer = $1", [
      consumer,
      days,
    ]);

  it("still remembers an event when the latest copy of it can arrive", async () => {
    const outboxDays = 14;
    const retention = { outboxMs: outboxDays * day, inboxMs: (outboxDays + inboxOutlivesOutboxDays) * day };
    const eventId = randomUUID();
    const orderId = randomUUID();
    const subject = bed.catalog.route(OrderPlacedSchema).subject;
    const payload = toBinary(OrderPlacedSchema, create(OrderPlacedSchema, { eventId, orderId, customerId: "c" }));
    const headers = natsHeaders();
    headers.set("Shopmesh-Event-Id", eventId);
    headers.set("Shopmesh-Event-Type", OrderPlacedSchema.typeName);
    headers.set("Shopmesh-Key", orderId);

    // Day 0: the event is published and applied at once.
    const applier = await recorder("first");
    const published = await bed.js.publish(subject, payload, { headers });
    await doneWith("first", published.seq);
    await applier.stop();
    expect(await timesApplied("first")).toBe(1);

    // At the end of the outbox's retention it is re-published; another consumer, as far
    // behind as the streams' age allows, parks that copy at the end of its first hour.
    // An operator replays it at the end of the dead-letter stream's age...
    const parkedDay = outboxDays + eventMaxAgeDays;
    const parked = natsHeaders();
    for (const [key, values] of headers) for (const value of values) parked.append(key, value);
    parked.set(firstDeadLetteredAtHeader, new Date(Date.now() - (deadLetterMaxAgeDays - 0.1) * day).toISOString());
    parked.set(deadLetterHeader.reason, "a bug, since fixed");
    parked.set(deadLetterHeader.consumer, "behind");
    parked.set(deadLetterHeader.stream, bed.catalog.streamName("ORDERS"));
    parked.set(deadLetterHeader.subject, subject);
    parked.set(deadLetterHeader.sequence, "1");
    parked.set(deadLetterHeader.deliveries, "8");
    const letter = await bed.js.publish(bed.catalog.deadLetterSubject("behind"), payload, { headers: parked });
    // (That consumer's durable still reads the subject: replay refuses a letter no one would take.)
    await bed.jsm.consumers.add(bed.catalog.streamName("ORDERS"), {
      durable_name: "behind",
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.New,
      filter_subject: subject,
    });
    await daysPass("first", parkedDay + deadLetterMaxAgeDays);
    const replayed = await replayDeadLetter(bed.js, bed.jsm, bed.catalog, letter.seq);

    // ...to every consumer of the subject: the first one, as far behind again, meets the
    // replayed copy after its replicas have pruned. (The copy is for "behind", so the first
    // one acknowledges it unapplied anyway; the bound does not count on that.)
    await daysPass("first", eventMaxAgeDays);
    await pruneEvents(bed.pool, retention);
    const again = await recorder("first");
    try {
      await doneWith("first", replayed.streamSeq);
      expect(await timesApplied("first")).toBe(1);
    } finally {
      await again.stop();
    }
  });
});
