import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { on, publishEvent, startConsumer } from "../src/index.js";
import { useEventsTestbed } from "./testbed.js";

const bed = useEventsTestbed("durable deleted", "SELECT 1");

describe("a consumer whose durable is deleted under it (an operator's mistake)", () => {
  it("declares it again and goes on consuming, without a restart", async () => {
    const applied: string[] = [];
    const consumer = await startConsumer({
      ...bed.consumer,
      name: "survivor",
      settingsCheckMs: 500,
      subscriptions: [on(OrderPlacedSchema, async (event) => void applied.push(event.orderId))],
    });
    const place = async () => {
      const orderId = crypto.randomUUID();
      await publishEvent(bed.js, bed.catalog, OrderPlacedSchema, {
        orderId,
        customerId: "c",
        paymentToken: "tok_visa",
      });
      return orderId;
    };
    try {
      const first = await place();
      await waitFor(() => applied.includes(first), { description: "the first event applied" });
      await bed.jsm.consumers.delete(bed.catalog.streamName("ORDERS"), "survivor");
      const second = await place();
      await waitFor(() => applied.includes(second), { description: "an event published after the deletion applied" });
      // Declared again, the durable starts from the stream's first event: the inbox of a
      // transactional handler makes the second copy a no-op.
      expect(applied.filter((orderId) => orderId === first)).toHaveLength(2);
    } finally {
      await consumer.stop();
    }
  });
});
