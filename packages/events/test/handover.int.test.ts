import { StockReservedSchema } from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import { waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { onTx, publishEvent, startConsumer } from "../src/index.js";
import { useEventsTestbed } from "./testbed.js";

const bed = useEventsTestbed("handover", "CREATE TABLE applied (event_id uuid PRIMARY KEY, replica text NOT NULL)");

const appliedBy = async (replica: string) =>
  (await bed.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM applied WHERE replica = $1", [replica])).rows[0]
    ?.n ?? 0;

describe("a replica that stops while events flow", () => {
  it("strands no event it was sent: every delivery is applied and acked before it is gone", async () => {
    const published = 12_000;
    for (let sent = 0; sent < published; sent += 100) {
      await Promise.all(
        Array.from({ length: 100 }, () =>
          publishEvent(bed.js, bed.catalog, StockReservedSchema, { orderId: crypto.randomUUID(), items: [] }),
        ),
      );
    }
    // Replicas stop one after the other, each while its first deliveries are still
    // coming in. A delivery stranded with a stopped replica stays pending until the ack
    // wait (here beyond any test) gives it to another: whether one is on its way at the
    // moment of the stop is chance, hence the turns.
    const stream = bed.catalog.route(StockReservedSchema).stream;
    for (let turns = 0; turns < 8; turns++) {
      const name = `replica-${turns}`;
      const replica = await startConsumer({
        ...bed.consumer,
        name: "handover",
        ackWaitMs: 600_000,
        subscriptions: [
          onTx(StockReservedSchema, async (event, tx) => {
            await tx.query("INSERT INTO applied (event_id, replica) VALUES ($1, $2)", [event.eventId, name]);
          }),
        ],
      });
      await waitFor(async () => (await appliedBy(name)) > 0, { description: `${name} applying events` });
      await replica.stop();
      const left = await waitFor(
        async () => {
          const info = await bed.jsm.consumers.info(stream, "handover");
          return info.num_ack_pending === 0 && info;
        },
        { description: `no delivery left pending with the stopped ${name}` },
      );
      expect(left.num_redelivered).toBe(0);
      if (left.num_pending === 0) break;
    }
  });
});
