import { create, toBinary } from "@bufbuild/protobuf";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { OrderCancelledSchema, OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import {
  DeadLetterExpired,
  DeadLetterNotFound,
  discardDeadLetter,
  listDeadLetters,
  onTx,
  PermanentEventError,
  publishEvent,
  replayDeadLetter,
  startConsumer,
} from "../src/index.js";
import { useDeadLetterTestbed } from "./dead-letter-testbed.js";

const { bed, applier, appliedBy, waitDoneWith } = useDeadLetterTestbed("dead letters");

describe("dead letters, as an operator handles them", () => {
  it("lists a parked event with its reason, replays it to the consumer that refused it, and no other applies it twice", async () => {
    const orderId = crypto.randomUUID();
    const refused = new Set([orderId]);
    const strict = await applier("strict", refused);
    const lenient = await applier("lenient", new Set());
    try {
      const event = await publishEvent(bed.js, bed.catalog, OrderPlacedSchema, {
        orderId,
        customerId: "c1",
        paymentToken: "tok_visa",
      });
      const [parked] = await waitFor(
        async () => {
          const found = await listDeadLetters(bed.jsm, bed.catalog);
          return found.length > 0 && (await appliedBy("lenient", event.eventId)) === 1 && found;
        },
        { description: "the event parked by one consumer and applied by the other" },
      );
      expect(parked).toMatchObject({
        consumer: "strict",
        reason: `no warehouse for ${orderId}`,
        deliveries: 1,
        original: { stream: bed.catalog.streamName("ORDERS"), subject: bed.catalog.route(OrderPlacedSchema).subject },
        eventId: event.eventId,
        eventType: OrderPlacedSchema.typeName,
        orderId,
        event: { orderId, customerId: "c1", paymentToken: "tok_visa" },
      });
      expect(await listDeadLetters(bed.jsm, bed.catalog, { consumer: "lenient" })).toEqual([]);
      expect(await listDeadLetters(bed.jsm, bed.catalog, { consumer: "strict" })).toHaveLength(1);

      refused.clear(); // the cause fixed
      const seq = parked?.seq ?? 0;
      const replayed = await replayDeadLetter(bed.js, bed.jsm, bed.catalog, seq);
      expect(replayed.subject).toBe(bed.catalog.route(OrderPlacedSchema).subject);
      await waitFor(async () => (await appliedBy("strict", event.eventId)) === 1, {
        description: "the replayed event applied by the consumer that parked it",
      });
      await waitDoneWith("lenient", replayed.streamSeq, "the other consumer done with the replayed copy");
      expect(await appliedBy("lenient", event.eventId)).toBe(1);
      expect(await listDeadLetters(bed.jsm, bed.catalog)).toEqual([]);
      await expect(replayDeadLetter(bed.js, bed.jsm, bed.catalog, seq)).rejects.toBeInstanceOf(DeadLetterNotFound);
    } finally {
      await strict.stop();
      await lenient.stop();
    }
  });

  it("parks an event again when its replay fails again, and discards one dealt with otherwise", async () => {
    const orderId = crypto.randomUUID();
    const refused = new Set([orderId]);
    const consumer = await applier("stubborn", refused);
    try {
      const event = await publishEvent(bed.js, bed.catalog, OrderPlacedSchema, {
        orderId,
        customerId: "c2",
        paymentToken: "tok_visa",
      });
      const parkedFor = async () => (await listDeadLetters(bed.jsm, bed.catalog, { consumer: "stubborn" })).at(0);
      const first = await waitFor(parkedFor, { description: "the event parked" });
      await replayDeadLetter(bed.js, bed.jsm, bed.catalog, first.seq);
      const second = await waitFor(
        async () => {
          const parked = await parkedFor();
          return parked && parked.seq !== first.seq && parked;
        },
        { description: "the replayed event parked again" },
      );
      expect(second).toMatchObject({ eventId: event.eventId, reason: first.reason });
      expect(second.firstDeadLetteredAt).toEqual(first.firstDeadLetteredAt);
      expect(first.deadLetteredAt.getTime() - first.firstDeadLetteredAt.getTime()).toBeLessThan(60_000);

      await discardDeadLetter(bed.jsm, bed.catalog, second.seq);
      expect(await listDeadLetters(bed.jsm, bed.catalog, { consumer: "stubborn" })).toEqual([]);
      await expect(discardDeadLetter(bed.jsm, bed.catalog, second.seq)).rejects.toBeInstanceOf(DeadLetterNotFound);
      expect(await appliedBy("stubborn", event.eventId)).toBe(0);
    } finally {
      await consumer.stop();
    }
  });

  it("lists an event that cannot be decoded without its body", async () => {
    const consumer = await startConsumer({
      ...bed.consumer,
      name: "decoder",
      subscriptions: [onTx(OrderCancelledSchema, async () => {})],
    });
    try {
      await bed.js.publish(bed.catalog.route(OrderCancelledSchema).subject, new Uint8Array([0xff, 0xff, 0xff]));
      const parked = await waitFor(
        async () => (await listDeadLetters(bed.jsm, bed.catalog, { consumer: "decoder" })).at(0),
        {
          description: "the undecodable event parked",
        },
      );
      expect(parked).toMatchObject({ consumer: "decoder", reason: "undecodable payload" });
      expect(parked.event).toBeUndefined();
    } finally {
      await consumer.stop();
    }
  });

  it("refuses to replay, unless forced, an event first parked longer ago than the dead-letter stream keeps one", async () => {
    const orderId = crypto.randomUUID();
    const refused = new Set([orderId]);
    const consumer = await applier("late", refused);
    try {
      // A replayed copy carries its first parking's time; this one was first parked 31 days
      // ago (DEADLETTER keeps 30), and its consumer refuses it again.
      const firstParked = new Date(Date.now() - 31 * 86_400_000);
      const eventId = crypto.randomUUID();
      const headers = natsHeaders();
      headers.set("Shopmesh-Event-Id", eventId);
      headers.set("Shopmesh-Event-Type", OrderPlacedSchema.typeName);
      headers.set("Shopmesh-First-Dead-Lettered-At", firstParked.toISOString());
      const data = toBinary(OrderPlacedSchema, create(OrderPlacedSchema, { eventId, orderId, customerId: "c3" }));
      await bed.js.publish(bed.catalog.route(OrderPlacedSchema).subject, data, { headers });
      const parked = await waitFor(
        async () => (await listDeadLetters(bed.jsm, bed.catalog, { consumer: "late" })).at(0),
        { description: "the event parked again" },
      );
      expect(parked).toMatchObject({ eventId, firstDeadLetteredAt: firstParked });

      refused.clear(); // the cause fixed, but a consumer that applied the event may have forgotten it
      const refusal = replayDeadLetter(bed.js, bed.jsm, bed.catalog, parked.seq);
      await expect(refusal).rejects.toBeInstanceOf(DeadLetterExpired);
      await expect(refusal).rejects.toThrow(
        /first parked 31 days ago, longer than the dead-letter stream keeps one \(30 days\)/,
      );
      expect(await listDeadLetters(bed.jsm, bed.catalog, { consumer: "late" })).toHaveLength(1);

      await replayDeadLetter(bed.js, bed.jsm, bed.catalog, parked.seq, { force: true });
      await waitFor(async () => (await appliedBy("late", eventId)) === 1, {
        description: "the forced replay applied",
      });
      expect(await listDeadLetters(bed.jsm, bed.catalog, { consumer: "late" })).toEqual([]);
    } finally {
      await consumer.stop();
    }
  });

  it("keeps, parked before the first-parking header existed, its first parking's time when replayed and parked again", async () => {
    const name = "legacy";
    const orderId = crypto.randomUUID();
    const consumer = await startConsumer({
      ...bed.consumer,
      name,
      subscriptions: [
        onTx(OrderPlacedSchema, async (event) => {
          if (event.orderId === orderId) throw new PermanentEventError(`no warehouse for ${event.orderId}`);
        }),
      ],
    });
    try {
      // The copy as the previous version parked it: the dead-letter headers, no
      // Shopmesh-First-Dead-Lettered-At (listDeadLetters takes its stream time as the first).
      const eventId = crypto.randomUUID();
      const subject = bed.catalog.route(OrderPlacedSchema).subject;
      const headers = natsHeaders();
      headers.set("Shopmesh-Event-Id", eventId);
      headers.set("Shopmesh-Event-Type", OrderPlacedSchema.typeName);
      headers.set("Shopmesh-Key", orderId);
      headers.set("Shopmesh-Dead-Letter-Reason", `no warehouse for ${orderId}`);
      headers.set("Shopmesh-Dead-Letter-Consumer", name);
      headers.set("Shopmesh-Original-Stream", bed.catalog.streamName("ORDERS"));
      headers.set("Shopmesh-Original-Subject", subject);
      headers.set("Shopmesh-Original-Sequence", "1");
      headers.set("Shopmesh-Deliveries", "1");
      const data = toBinary(OrderPlacedSchema, create(OrderPlacedSchema, { eventId, orderId, customerId: "c" }));
      await bed.js.publish(bed.catalog.deadLetterSubject(name), data, { headers });
      const [legacy] = await listDeadLetters(bed.jsm, bed.catalog, { consumer: name });
      if (!legacy) throw new Error("the legacy copy is not listed");
      expect(legacy.firstDeadLetteredAt).toEqual(legacy.deadLetteredAt);

      // Some time later (days in production; a second and a half here) it is replayed and fails again.
      await waitFor(() => Date.now() > legacy.deadLetteredAt.getTime() + 1_500, { description: "time passing" });
      await replayDeadLetter(bed.js, bed.jsm, bed.catalog, legacy.seq);
      const again = await waitFor(
        async () => (await listDeadLetters(bed.jsm, bed.catalog, { consumer: name })).find((d) => d.seq !== legacy.seq),
        { description: "the replayed event parked again" },
      );
      // Its 30 days count from its first parking, which was the legacy copy's.
      expect(again.firstDeadLetteredAt.toISOString()).toBe(legacy.deadLetteredAt.toISOString());
    } finally {
      await consumer.stop();
    }
  });
});
