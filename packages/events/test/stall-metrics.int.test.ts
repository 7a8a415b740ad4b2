import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { installMetricReader, waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";

// Before the consumer's modules load: they create their instruments as they load.
const measured = installMetricReader();
const { onTx, publishEvent, startConsumer } = await import("../src/index.js");
const { useEventsTestbed } = await import("./testbed.js");

const bed = useEventsTestbed("stall metrics", "SELECT 1");

const consumer = { "messaging.consumer.group.name": "stalling" };
const stalled = async () => (await measured.collect()).total("shopmesh.consumer.stalled", consumer);
const stalls = async () => (await measured.collect()).total("shopmesh.consumer.stalls", consumer);

describe("a replica whose batch hangs", () => {
  it("counts the stall, and shows itself stalled until the batch ends", async () => {
    let hang = true;
    const releases: (() => void)[] = [];
    const running = await startConsumer({
      ...bed.consumer,
      name: "stalling",
      ackWaitMs: 600,
      subscriptions: [
        onTx(OrderPlacedSchema, async () => {
          if (hang) await new Promise<void>((resolve) => releases.push(resolve));
        }),
      ],
    });
    const release = () => {
      hang = false;
      for (const resolve of releases.splice(0)) resolve();
    };
    try {
      // Declared at zero, so that the first stall shows in Prometheus's increase().
      expect({ stalled: await stalled(), stalls: await stalls() }).toEqual({ stalled: 0, stalls: 0 });
      await publishEvent(bed.js, bed.catalog, OrderPlacedSchema, {
        orderId: crypto.randomUUID(),
        customerId: "c",
        paymentToken: "tok_visa",
      });
      await waitFor(async () => (await stalled()) === 1, { description: "the replica counted as stalled" });
      expect(await stalls()).toBe(1);
      release();
      await waitFor(async () => (await stalled()) === 0, { description: "the stall over once the batch ended" });
      expect(await stalls()).toBe(1);
    } finally {
      release();
      await running.stop();
    }
  });
});
