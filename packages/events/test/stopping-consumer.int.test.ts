import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { on, publishEvent, startConsumer } from "../src/index.js";
import { useEventsTestbed } from "./testbed.js";

const bed = useEventsTestbed("stopping consumer", "SELECT 1");

describe("a consumer of slow per-event handlers (payment's provider calls) that stops", () => {
  it("starts no event after its drain: those not started are handed back, and another replica applies each once", async () => {
    const ackWaitMs = 3_000; // a drain of 1 s, as payment's 10 s is a third of 30 s
    const drainMs = ackWaitMs / 3;
    const applied: string[] = [];
    const startedAt: number[] = [];
    const slow = on(OrderPlacedSchema, async (event) => {
      startedAt.push(performance.now());
      await new Promise((resolve) => setTimeout(resolve, 700));
      applied.push(event.orderId);
    });
    const first = await startConsumer({ ...bed.consumer, name: "slowpay", ackWaitMs, subscriptions: [slow] });
    const orderIds = Array.from({ length: 120 }, () => crypto.randomUUID());
    for (const orderId of orderIds) {
      await publishEvent(bed.js, bed.catalog, OrderPlacedSchema, {
        orderId,
        customerId: "c",
        paymentToken: "tok_visa",
      });
    }
    await waitFor(() => startedAt.length >= 32, { description: "a first wave of events in flight" });
    const stoppedAt = performance.now();
    await first.stop();
    // Slots freed after the drain took no new event: a batch's events used to start as
    // slots freed, so a whole wave began past the drain and ran its full length.
    expect(startedAt.filter((at) => at - stoppedAt > drainMs)).toEqual([]);
    expect(applied.length).toBeLessThan(orderIds.length);

    const second = await startConsumer({ ...bed.consumer, name: "slowpay", ackWaitMs, subscriptions: [slow] });
    try {
      await waitFor(() => applied.length >= orderIds.length, {
        description: "every event applied by the next replica",
        timeoutMs: 60_000,
      });
      expect(applied.sort()).toEqual([...orderIds].sort());
    } finally {
      await second.stop();
    }
  }, 120_000);
});
