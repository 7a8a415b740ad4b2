import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
} from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { describe, expect, it } from "vitest";
import { type EventSubscription, onTxBatch } from "../src/consumer.js";
import { runsOf } from "../src/deliveries.js";

const reserve = onTxBatch(OrderPlacedSchema, async () => {});
const sell = onTxBatch(OrderConfirmedSchema, async () => {});
const release = onTxBatch(OrderCancelledSchema, async () => {});

/** A delivery of an event about `key` (the order of its Shopmesh-Key header), as the consumer sees it. */
function delivery(key: string, subscription: EventSubscription, label: string) {
  return { key, subscription, label };
}

const labels = (runs: Iterable<{ label: string }[]>) => [...runs].map((run) => run.map(({ label }) => label));

describe("runs of a batch", () => {
  it("puts the events of different orders with one handler in one run, whatever their order", () => {
    const batch = [
      delivery("a", reserve, "a placed"),
      delivery("b", sell, "b confirmed"),
      delivery("c", reserve, "c placed"),
      delivery("d", sell, "d confirmed"),
      delivery("e", release, "e cancelled"),
    ];
    expect(labels(runsOf(batch))).toEqual([["a placed", "c placed"], ["b confirmed", "d confirmed"], ["e cancelled"]]);
  });

  it("keeps the events of one order in their order, a wave each", () => {
    const batch = [
      delivery("a", reserve, "a placed"),
      delivery("a", release, "a cancelled"),
      delivery("b", reserve, "b placed"),
      delivery("a", reserve, "a placed again"),
    ];
    expect(labels(runsOf(batch))).toEqual([["a placed", "b placed"], ["a cancelled"], ["a placed again"]]);
  });

  it("shares runs among event types with one handler", () => {
    const advance = async () => {};
    const captured = onTxBatch(OrderConfirmedSchema, advance);
    const reserved = onTxBatch(OrderPlacedSchema, advance);
    const batch = [delivery("a", reserved, "a"), delivery("b", captured, "b"), delivery("c", reserved, "c")];
    expect(labels(runsOf(batch))).toEqual([["a", "b", "c"]]);
  });
});
