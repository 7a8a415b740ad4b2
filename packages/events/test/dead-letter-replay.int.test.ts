// Replays of dead letters: for the consumer that parked them, and never lost.
import type { JetStreamClient } from "@nats-io/jetstream";
import { OrderCancelledSchema, OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import {
  DeadLetterNotFound,
  discardDeadLetter,
  ensureStreams,
  listDeadLetters,
  onTx,
  publishEvent,
  replayDeadLetter,
  startConsumer,
} from "../src/index.js";
import { useDeadLetterTestbed } from "./dead-letter-testbed.js";

const { bed, applier, appliedBy, waitDoneWith } = useDeadLetterTestbed("dead letter replays");

const placed = (orderId: string) =>
  publishEvent(bed.js, bed.catalog, OrderPlacedSchema, { orderId, customerId: "c", paymentToken: "tok_visa" });

describe("replaying a dead letter", () => {
  it("does not apply the event in another consumer whose own letter for it was discarded (dealt with otherwise)", async () => {
    const orderId = crypto.randomUUID();
    const refused = new Set([orderId]);
    const alpha = await applier("alpha", refused);
    const beta = await applier("beta", refused);
    try {
      const event = await placed(orderId);
      const letters = await waitFor(
        async () => {
          const found = await listDeadLetters(bed.jsm, bed.catalog);
          return found.filter((d) => d.eventId === event.eventId).length === 2 && found;
        },
        { description: "the event parked by both consumers" },
      );
      const alphaLetter = letters.find((d) => d.consumer === "alpha");
      const betaLetter = letters.find((d) => d.consumer === "beta");
      if (!alphaLetter || !betaLetter) throw new Error("letters missing");

      // The operator repairs beta's side by hand and discards its letter, as the runbook says
      // ("An event dealt with otherwise: discard"); then fixes alpha's cause and replays alpha's letter.
      await discardDeadLetter(bed.jsm, bed.catalog, betaLetter.seq);
      refused.clear();
      const replayed = await replayDeadLetter(bed.js, bed.jsm, bed.catalog, alphaLetter.seq);
      await waitFor(async () => (await appliedBy("alpha", event.eventId)) === 1, { description: "alpha applied it" });
      await waitDoneWith("beta", replayed.streamSeq, "beta done with the replayed copy");
      // Beta's letter was discarded (its effect repaired by hand): the replay of alpha's letter
      // must not apply it in beta a second time.
      expect(await appliedBy("beta", event.eventId)).toBe(0);
    } finally {
      await alpha.stop();
      await beta.stop();
    }
  });

  it("refuses to replay a letter whose consumer no longer reads its subject, rather than report it replayed and drop it", async () => {
    const orderId = crypto.randomUUID();
    const refused = new Set([orderId]);
    const old = await applier("retiring", refused);
    let event: Awaited<ReturnType<typeof placed>>;
    try {
      event = await placed(orderId);
      await waitFor(async () => (await listDeadLetters(bed.jsm, bed.catalog, { consumer: "retiring" })).at(0), {
        description: "the event parked",
      });
    } finally {
      await old.stop();
    }
    // The next release of that service no longer subscribes to OrderPlaced (its durable on
    // ORDERS now filters orders.cancelled): the letter parked by the old version stays listed.
    const next = await startConsumer({
      ...bed.consumer,
      name: "retiring",
      subscriptions: [onTx(OrderCancelledSchema, async () => {})],
    });
    try {
      const info = await bed.jsm.consumers.info(bed.catalog.streamName("ORDERS"), "retiring");
      expect(info.config.filter_subject).toBe(bed.catalog.route(OrderCancelledSchema).subject);
      const [letter] = await listDeadLetters(bed.jsm, bed.catalog, { consumer: "retiring" });
      if (!letter) throw new Error("no letter");
      const outcome = await replayDeadLetter(bed.js, bed.jsm, bed.catalog, letter.seq).then(
        (replayed) => ({ replayed }),
        (error: unknown) => ({ error }),
      );
      const stillListed = (await listDeadLetters(bed.jsm, bed.catalog, { consumer: "retiring" })).length;
      // Nothing named "retiring" will ever receive orders.placed again: the "replay" delivered the
      // event to no consumer that parked it, and removed the only trace of it.
      expect({ refused: "error" in outcome, stillListed, eventId: event.eventId }).toEqual({
        refused: true,
        stillListed: 1,
        eventId: event.eventId,
      });
    } finally {
      await next.stop();
    }
  });

  it("does not report a replay as failed when it published the event (a discard raced it)", async () => {
    const orderId = crypto.randomUUID();
    const refused = new Set([orderId]);
    const consumer = await applier("racer", refused);
    try {
      const event = await placed(orderId);
      const letter = await waitFor(
        async () => (await listDeadLetters(bed.jsm, bed.catalog, { consumer: "racer" })).at(0),
        { description: "the event parked" },
      );
      refused.clear();
      // A second operator discards the letter while the first one's replay is between its read and
      // its publish (simulated: the discard runs just before the replay's publish goes out).
      const racingJs = new Proxy(bed.js, {
        get(target, key, receiver) {
          if (key === "publish") {
            return async (...args: Parameters<JetStreamClient["publish"]>) => {
              await discardDeadLetter(bed.jsm, bed.catalog, letter.seq);
              return target.publish(...args);
            };
          }
          return Reflect.get(target, key, receiver);
        },
      }) as JetStreamClient;
      const outcome = await replayDeadLetter(racingJs, bed.jsm, bed.catalog, letter.seq).then(
        () => "replayed",
        (error: unknown) => (error instanceof DeadLetterNotFound ? "reported not found" : String(error)),
      );
      await waitFor(async () => (await appliedBy("racer", event.eventId)) === 1, {
        description: "the event applied by the replay",
      });
      // The event was published and applied, yet the command says "no dead letter with sequence N"
      // and exits 1: the operator is told the replay did not happen.
      expect(outcome).toBe("replayed");
    } finally {
      await consumer.stop();
    }
  });

  it("does not drop a replay as a JetStream duplicate of an earlier letter's replay with the same sequence", async () => {
    const first = crypto.randomUUID();
    const second = crypto.randomUUID();
    const refused = new Set([first, second]);
    // A DEADLETTER of its own for this test, so that its sequences start at 1.
    await bed.jsm.streams.delete(bed.catalog.deadLetterStream);
    await ensureStreams(bed.jsm, bed.catalog);
    const consumer = await applier("reseq", refused);
    try {
      const e1 = await placed(first);
      const l1 = await waitFor(async () => (await listDeadLetters(bed.jsm, bed.catalog, { consumer: "reseq" })).at(0), {
        description: "the first event parked",
      });
      refused.delete(first);
      await replayDeadLetter(bed.js, bed.jsm, bed.catalog, l1.seq);
      await waitFor(async () => (await appliedBy("reseq", e1.eventId)) === 1, { description: "first applied" });

      // DEADLETTER is removed and declared again (an operator clearing it with `nats stream rm`, the
      // CLI having no purge; every service re-creates it at start): its sequences start at 1 again.
      await bed.jsm.streams.delete(bed.catalog.deadLetterStream);
      await ensureStreams(bed.jsm, bed.catalog);
      const e2 = await placed(second);
      const l2 = await waitFor(async () => (await listDeadLetters(bed.jsm, bed.catalog, { consumer: "reseq" })).at(0), {
        description: "the second event parked",
      });
      expect(l2.seq).toBe(l1.seq);
      refused.delete(second);
      await replayDeadLetter(bed.js, bed.jsm, bed.catalog, l2.seq);
      expect(await listDeadLetters(bed.jsm, bed.catalog, { consumer: "reseq" })).toEqual([]);
      // With an id of its sequence alone the publish was answered "duplicate" and the letter
      // deleted all the same: the second event applied by no one and parked nowhere.
      await waitFor(async () => (await appliedBy("reseq", e2.eventId)) === 1, { description: "second applied" });
    } finally {
      await consumer.stop();
    }
  });
});
