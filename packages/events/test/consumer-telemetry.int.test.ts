import { randomBytes, randomUUID } from "node:crypto";
import { headers as natsHeaders } from "@nats-io/transport-node";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { OrderCancelledSchema, OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { withTx } from "@shopmesh/pg";
import { traceLogFields } from "@shopmesh/telemetry";
import { useInMemoryTracing, waitFor } from "@shopmesh/testing";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import {
  allEvents,
  createEventCatalog,
  createOutbox,
  ensureStreams,
  listDeadLetters,
  onTx,
  PermanentEventError,
  publishEvent,
  replayDeadLetter,
  republishOutbox,
  startConsumer,
  startOutboxRelay,
} from "../src/index.js";
import { publishRows } from "../src/relay.js";
import { useEventsTestbed } from "./testbed.js";

// What a person following the dead-letter runbook (docs/tracing.md#dead-letters) reads
// of a consumer: its spans (the SDK in memory), its counts (a span's outcome is what the
// shopmesh.consumer.events counter counts) and its log lines (JSON, with trace ids).
const exporter = useInMemoryTracing();
const lines: Record<string, unknown>[] = [];
const logger = pino(
  { level: "info", mixin: traceLogFields },
  { write: (line: string) => lines.push(JSON.parse(line)) },
);
const bed = useEventsTestbed("consumer telemetry", "SELECT 1", { logger });

/** Streams of a test's own, so that its consumer sees its events only. */
async function ownCatalog(label: string) {
  const catalog = createEventCatalog(allEvents, `${bed.catalog.namespace}_${label}`);
  await ensureStreams(bed.jsm, catalog);
  return catalog;
}

/** The consumer spans of the events about an order, in the order they ended. */
const processSpans = (orderId: string) =>
  exporter
    .getFinishedSpans()
    .filter((span) => span.name.startsWith("process ") && span.attributes["shopmesh.order.id"] === orderId);

const outcomeOf = (span: ReadableSpan) => span.attributes["shopmesh.consumer.outcome"];
const logged = (msg: string) => lines.filter((line) => line.msg === msg);

describe("a consumer span", () => {
  it("names its message by the producer's id: the outbox id, which outbox:republish takes", async () => {
    const catalog = await ownCatalog("IDS");
    const outbox = createOutbox(catalog);
    const relay = startOutboxRelay({ pool: bed.pool, js: bed.js, logger });
    outbox.onWritten(relay.handOff);
    const consumer = await startConsumer({
      ...bed.consumer,
      catalog,
      name: "ids",
      subscriptions: [onTx(OrderCancelledSchema, async () => {})],
    });
    try {
      const orderId = randomUUID();
      const event = await withTx(bed.pool, (tx) =>
        outbox.append(tx, OrderCancelledSchema, { orderId, reason: "changed my mind" }),
      );
      const [consumed] = await waitFor(() => processSpans(orderId).length > 0 && processSpans(orderId), {
        description: "the event's consumer span",
      });
      const produced = exporter.getFinishedSpans().find((span) => span.name.startsWith("publish "));
      const { rows } = await bed.pool.query<{ id: string }>("SELECT id::text FROM outbox WHERE event_id = $1", [
        event.eventId,
      ]);
      const outboxId = rows[0]?.id;
      expect(consumed?.parentSpanContext?.spanId).toBe(produced?.spanContext().spanId);
      expect(consumed?.attributes).toMatchObject({
        "messaging.message.id": outboxId,
        "shopmesh.event.id": event.eventId,
      });
      expect(produced?.attributes).toMatchObject({
        "messaging.message.id": outboxId,
        "shopmesh.event.id": event.eventId,
      });
      // The runbook's replay, with the id the span gives.
      const id = BigInt(String(consumed?.attributes["messaging.message.id"]));
      expect(await republishOutbox(bed.pool, bed.js, id, id)).toBe(1);
    } finally {
      await consumer.stop();
      await relay.stop();
    }
  });
});

describe("a publish span", () => {
  it("says when JetStream dropped the publish as a repeat, which the publish delay does not count", async () => {
    const catalog = await ownCatalog("DUP");
    const row = createOutbox(catalog).prepare(OrderCancelledSchema, { orderId: randomUUID(), reason: "x" });
    const message = {
      id: String(Date.now()),
      event_id: row.eventId,
      subject: row.subject,
      event_type: row.eventType,
      payload: row.payload,
      headers: row.headers,
      created_at: new Date(),
    };
    // Published, then sent again: the relay's mark failed (a database blip, a shutdown).
    await publishRows(bed.js, [message]);
    await publishRows(bed.js, [message]);
    const spans = exporter.getFinishedSpans().filter((span) => span.attributes["messaging.message.id"] === message.id);
    expect(spans.map((span) => span.attributes["shopmesh.publish.duplicate"])).toEqual([undefined, true]);
    expect((await bed.jsm.streams.info(catalog.streamName("ORDERS"))).state.messages).toBe(1);
  });
});

describe("dead letters", () => {
  it("are logged in their event's trace with the order they are about, undecodable ones too", async () => {
    const catalog = await ownCatalog("LOGS");
    const subject = catalog.route(OrderCancelledSchema).subject;
    const poisoned = randomUUID();
    const garbled = randomUUID();
    const callerTrace = randomBytes(16).toString("hex");
    // Published before the consumer starts, so that they come in batches with the
    // poisoned event among others: the batch fails, then its events are applied one by one.
    const fine = Array.from({ length: 6 }, () => randomUUID());
    for (const orderId of [...fine.slice(0, 3), poisoned, ...fine.slice(3)])
      await publishEvent(bed.js, catalog, OrderCancelledSchema, { orderId, reason: "r" });
    const headers = natsHeaders();
    headers.set("Shopmesh-Event-Id", randomUUID());
    headers.set("Shopmesh-Event-Type", OrderCancelledSchema.typeName);
    headers.set("Shopmesh-Key", garbled);
    headers.set("traceparent", `00-${callerTrace}-${randomBytes(8).toString("hex")}-01`);
    await bed.js.publish(subject, new Uint8Array([0xff, 0xff, 0xff]), { headers });
    const consumer = await startConsumer({
      ...bed.consumer,
      catalog,
      name: "logs",
      subscriptions: [
        onTx(OrderCancelledSchema, async (event) => {
          if (event.orderId === poisoned) throw new PermanentEventError("cannot apply");
        }),
      ],
    });
    try {
      const deadLettered = await waitFor(
        () => {
          const found = logged("event dead-lettered").filter(
            (line) => line.orderId === poisoned || line.orderId === garbled,
          );
          return found.length === 2 && found;
        },
        { description: "both dead letters logged" },
      );
      const traceOf = (orderId: string) => processSpans(orderId).at(-1)?.spanContext();
      expect(deadLettered.map(({ orderId, trace_id, span_id }) => ({ orderId, trace_id, span_id }))).toEqual(
        expect.arrayContaining([
          { orderId: poisoned, trace_id: traceOf(poisoned)?.traceId, span_id: traceOf(poisoned)?.spanId },
          { orderId: garbled, trace_id: callerTrace, span_id: traceOf(garbled)?.spanId },
        ]),
      );
      const [batchFailed] = await waitFor(
        () => logged("batch failed; applying one by one").length > 0 && logged("batch failed; applying one by one"),
        { description: "the failed batch logged" },
      );
      const batch = exporter
        .getFinishedSpans()
        .find((span) => span.name.startsWith("apply ") && span.events.some((event) => event.name === "exception"));
      expect(batchFailed).toMatchObject({
        trace_id: batch?.spanContext().traceId,
        span_id: batch?.spanContext().spanId,
      });
    } finally {
      await consumer.stop();
    }
  });

  it("are counted only once their copy is written; until then each failed copy is a retry", async () => {
    const catalog = await ownCatalog("COPY");
    const consumer = await startConsumer({
      ...bed.consumer,
      catalog,
      name: "copies",
      retryDelaysMs: [50],
      subscriptions: [
        onTx(OrderPlacedSchema, async () => {
          throw new PermanentEventError("cannot apply");
        }),
      ],
    });
    try {
      await bed.jsm.streams.delete(catalog.deadLetterStream); // no copy can be written
      const orderId = randomUUID();
      await publishEvent(bed.js, catalog, OrderPlacedSchema, { orderId, customerId: "c1", paymentToken: "tok_visa" });
      await waitFor(() => processSpans(orderId).length >= 3, { description: "three failed dead-letter copies" });
      await ensureStreams(bed.jsm, catalog);
      await waitFor(() => processSpans(orderId).some((span) => outcomeOf(span) === "dead_lettered"), {
        description: "the event dead-lettered once its copy can be written",
      });
      const outcomes = processSpans(orderId).map(outcomeOf);
      expect(outcomes.filter((outcome) => outcome === "dead_lettered")).toHaveLength(1);
      expect(outcomes.at(-1)).toBe("dead_lettered");
      expect(outcomes.slice(0, -1).every((outcome) => outcome === "retried")).toBe(true);
      // Each failed copy is logged, with the order the person reading it must replay.
      const failedCopies = logged("could not dead-letter event; will retry");
      expect(failedCopies.filter((line) => line.orderId === orderId)).toHaveLength(outcomes.length - 1);
    } finally {
      await consumer.stop();
    }
  });

  it("replayed, continue their trace under the same message id: the outbox id the runbook searches by", async () => {
    const catalog = await ownCatalog("REPLAY");
    const outbox = createOutbox(catalog);
    const relay = startOutboxRelay({ pool: bed.pool, js: bed.js, logger });
    outbox.onWritten(relay.handOff);
    let refuse = true;
    const consumer = await startConsumer({
      ...bed.consumer,
      catalog,
      name: "replayed",
      subscriptions: [
        onTx(OrderCancelledSchema, async () => {
          if (refuse) throw new PermanentEventError("no such order here");
        }),
      ],
    });
    try {
      const orderId = randomUUID();
      await withTx(bed.pool, (tx) => outbox.append(tx, OrderCancelledSchema, { orderId, reason: "changed my mind" }));
      const [parked] = await waitFor(
        async () => {
          const found = await listDeadLetters(bed.jsm, catalog, { consumer: "replayed" });
          return found.length > 0 && found;
        },
        { description: "the event parked" },
      );
      refuse = false;
      await replayDeadLetter(bed.js, bed.jsm, catalog, parked?.seq ?? 0);
      const [first, replayed] = await waitFor(() => processSpans(orderId).length >= 2 && processSpans(orderId), {
        description: "both consumer spans",
      });
      expect([outcomeOf(first), outcomeOf(replayed)]).toEqual(["dead_lettered", "applied"]);
      expect(replayed?.spanContext().traceId).toBe(first?.spanContext().traceId);
      expect(replayed?.attributes["messaging.message.id"]).toBe(first?.attributes["messaging.message.id"]);
      expect(parked?.messageId).toBe(first?.attributes["messaging.message.id"]);
    } finally {
      await consumer.stop();
      await relay.stop();
    }
  });
});
