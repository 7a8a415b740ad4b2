import { OrderCancelledSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { on, publishEvent, startConsumer } from "../src/index.js";
import { useEventsTestbed } from "./testbed.js";

const bed = useEventsTestbed(
  "attempts across replicas",
  "CREATE TABLE applied (event_id uuid PRIMARY KEY, replica text NOT NULL)",
);

/** An error of a database that is starting up: unavailability, not counted as an attempt. */
const unavailable = () => Object.assign(new Error("the database system is starting up"), { code: "57P03" });

describe("the attempts of an event shared by two replicas", () => {
  it("does not count another replica's deliveries lost to an unavailable database", async () => {
    // maxAttempts 3: the event fails twice for a reason of its own (attempts 1 and 2),
    // and in between the other replica meets an outage on several deliveries — which
    // say nothing of the event. It must be applied on its third counted try, not parked.
    const name = "two-replicas";
    let owner: string | undefined;
    let counted = 0;
    let outageElsewhere = 0;
    const replica = (label: string) =>
      on(OrderCancelledSchema, async (event, context) => {
        owner ??= label;
        if (label !== owner) {
          outageElsewhere++;
          throw unavailable();
        }
        if (counted === 0 || (counted === 1 && outageElsewhere >= 4)) {
          counted++;
          throw new Error("a failure of the event's own");
        }
        if (counted === 1) throw unavailable(); // waiting for the other replica's deliveries
        await context.transaction((tx) =>
          tx.query("INSERT INTO applied (event_id, replica) VALUES ($1, $2)", [event.eventId, label]),
        );
      });
    const options = { ...bed.consumer, name, maxAttempts: 3, retryDelaysMs: [20] };
    const a = await startConsumer({ ...options, subscriptions: [replica("a")] });
    const b = await startConsumer({ ...options, subscriptions: [replica("b")] });
    try {
      const event = await publishEvent(bed.js, bed.catalog, OrderCancelledSchema, {
        orderId: crypto.randomUUID(),
        reason: "x",
      });
      const outcome = await waitFor(
        async () => {
          if ((await bed.pool.query("SELECT 1 FROM applied WHERE event_id = $1", [event.eventId])).rowCount === 1) {
            return "applied";
          }
          const parked = (await bed.jsm.streams.info(bed.catalog.deadLetterStream)).state.messages;
          return parked > 0 ? "dead-lettered" : undefined;
        },
        { description: "the event applied or parked", timeoutMs: 30_000 },
      );
      expect({ outcome, counted }).toEqual({ outcome: "applied", counted: 2 });
      expect(outageElsewhere).toBeGreaterThanOrEqual(4);
    } finally {
      await a.stop();
      await b.stop();
    }
  }, 60_000);
});
