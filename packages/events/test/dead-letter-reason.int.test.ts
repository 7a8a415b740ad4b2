import { OrderCancelledSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { on, onTx, PermanentEventError, publishEvent, startConsumer } from "../src/index.js";
import { useEventsTestbed } from "./testbed.js";

const bed = useEventsTestbed("dead-letter reason", "CREATE TABLE applied (event_id uuid PRIMARY KEY)");

/** A reason spanning lines, as a provider's error body or a validation library's message does. */
const multiline = 'the provider refused the charge:\r\n{\n  "error": "card_declined"\n}';

describe("an event that fails with a reason of several lines", () => {
  const parkedReasons = async () => {
    const { state } = await bed.jsm.streams.info(bed.catalog.deadLetterStream);
    const reasons: string[] = [];
    for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
      const letter = await bed.jsm.streams.getMessage(bed.catalog.deadLetterStream, { seq });
      if (letter) reasons.push(letter.header.get("Shopmesh-Dead-Letter-Reason"));
    }
    return reasons;
  };

  it("is dead-lettered with its reason on one line, not left to come back at every ack wait", async () => {
    let calls = 0;
    const consumer = await startConsumer({
      ...bed.consumer,
      name: "multiline-per-event",
      ackWaitMs: 1_500,
      subscriptions: [
        on(OrderCancelledSchema, async () => {
          calls++;
          throw new PermanentEventError(multiline);
        }),
      ],
    });
    try {
      await publishEvent(bed.js, bed.catalog, OrderCancelledSchema, { orderId: crypto.randomUUID(), reason: "x" });
      const reasons = await waitFor(async () => ((await parkedReasons()).length > 0 ? parkedReasons() : undefined), {
        description: "the event dead-lettered",
        timeoutMs: 6_000,
      });
      expect(reasons).toEqual(['the provider refused the charge: {   "error": "card_declined" }']);
      expect(calls).toBe(1);
    } finally {
      await consumer.stop();
    }
  }, 30_000);

  it("keeps a batch consumer applying the events after it", async () => {
    const poison = crypto.randomUUID();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const consumer = await startConsumer({
      ...bed.consumer,
      name: "multiline-batch",
      ackWaitMs: 1_500,
      subscriptions: [
        onTx(OrderCancelledSchema, async (event, tx) => {
          if (event.orderId === poison) throw new PermanentEventError(multiline);
          await tx.query("INSERT INTO applied (event_id) VALUES ($1)", [event.eventId]);
        }),
      ],
    });
    try {
      await publishEvent(bed.js, bed.catalog, OrderCancelledSchema, { orderId: poison, reason: "x" });
      // The poison alone in its batch: the next event is published once it was delivered.
      await waitFor(
        async () =>
          (await bed.jsm.consumers.info(bed.catalog.streamName("ORDERS"), "multiline-batch")).delivered.consumer_seq >=
          1,
        { description: "the poison delivered" },
      );
      const after = await publishEvent(bed.js, bed.catalog, OrderCancelledSchema, {
        orderId: crypto.randomUUID(),
        reason: "x",
      });
      await waitFor(
        async () => (await bed.pool.query("SELECT 1 FROM applied WHERE event_id = $1", [after.eventId])).rowCount === 1,
        { description: "the event after the poison applied", timeoutMs: 6_000 },
      );
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await consumer.stop();
    }
  }, 30_000);
});
