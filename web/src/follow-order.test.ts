import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Order, OrderSchema, OrderStatus } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { followOrder, type WatchOrder } from "./follow-order.js";
import type { Problem } from "./problem.js";

const timing = { reconnectMs: 3_000, silenceMs: 45_000 };
const order = (status: OrderStatus) => create(OrderSchema, { orderId: "o-1", status });

/** Resolves when `signal` aborts, as a Connect stream does, with a Canceled error. */
const aborted = (signal: AbortSignal) =>
  new Promise<never>((_, reject) =>
    signal.addEventListener("abort", () => reject(new ConnectError("aborted", Code.Canceled)), { once: true }),
  );

/**
 * A stream that sends `states` every `everyMs` (all at once when 0), then stays open
 * until aborted. Its timers are vitest's fake ones: the tests advance them.
 */
function stream(states: Order[], everyMs = 0): WatchOrder {
  return async function* (signal) {
    for (const state of states) {
      if (everyMs > 0) await new Promise((resolve) => setTimeout(resolve, everyMs));
      yield { order: state };
    }
    await aborted(signal);
  };
}

/** Follows with `watch`, counting its calls and recording what the follower hears. */
function follow(watch: WatchOrder) {
  const heard = { calls: 0, orders: [] as OrderStatus[], problems: [] as Problem[] };
  const stop = followOrder(
    (signal) => {
      heard.calls++;
      return watch(signal);
    },
    { onOrder: (next) => heard.orders.push(next.status), onProblem: (problem) => heard.problems.push(problem) },
    timing,
  );
  return { heard, stop };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("following an order", () => {
  it("watches again, at once and without a problem shown, when the stream falls silent", async () => {
    const { heard, stop } = follow(stream([order(OrderStatus.PENDING)]));
    await vi.advanceTimersByTimeAsync(timing.silenceMs - 1_000);
    expect(heard.calls).toBe(1);
    // Well inside the wait after a broken stream.
    await vi.advanceTimersByTimeAsync(1_100);
    expect(heard.calls).toBe(2);
    expect(heard.orders).toEqual([OrderStatus.PENDING, OrderStatus.PENDING]);
    expect(heard.problems).toEqual([]);
    stop();
  });

  it("keeps a stream that repeats a quiet order's state", async () => {
    const repeated = Array.from({ length: 20 }, () => order(OrderStatus.RESERVED));
    const { heard, stop } = follow(stream(repeated, 20_000));
    await vi.advanceTimersByTimeAsync(20 * 20_000);
    expect(heard.calls).toBe(1);
    expect(heard.orders).toHaveLength(20);
    stop();
  });

  it("ends with the order final, watching no more", async () => {
    const { heard, stop } = follow(async function* () {
      yield { order: order(OrderStatus.PENDING) };
      yield { order: order(OrderStatus.CONFIRMED) };
    });
    await vi.advanceTimersByTimeAsync(timing.silenceMs * 3);
    expect(heard.calls).toBe(1);
    expect(heard.orders).toEqual([OrderStatus.PENDING, OrderStatus.CONFIRMED]);
    stop();
  });

  it("watches again after a break worth retrying, and shows it; not after one that is not", async () => {
    const broken = (code: Code): WatchOrder =>
      async function* () {
        yield { order: order(OrderStatus.PENDING) };
        throw new ConnectError("broken", code);
      };
    const unavailable = follow(broken(Code.Unavailable));
    await vi.advanceTimersByTimeAsync(timing.reconnectMs - 1);
    expect(unavailable.heard.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(unavailable.heard.calls).toBe(2);
    expect(unavailable.heard.problems[0]?.retryable).toBe(true);
    unavailable.stop();

    const notFound = follow(broken(Code.NotFound));
    await vi.advanceTimersByTimeAsync(timing.silenceMs * 3);
    expect(notFound.heard.calls).toBe(1);
    expect(notFound.heard.problems).toHaveLength(1);
    notFound.stop();
  });

  it("stops the stream and every retry when told to", async () => {
    let streamAborted = false;
    const { heard, stop } = follow(async function* (signal) {
      yield { order: order(OrderStatus.PENDING) };
      await aborted(signal).catch((error: unknown) => {
        streamAborted = true;
        throw error;
      });
    });
    await vi.advanceTimersByTimeAsync(1_000);
    stop();
    await vi.advanceTimersByTimeAsync(timing.silenceMs * 3);
    expect(streamAborted).toBe(true);
    expect(heard.calls).toBe(1);
    expect(heard.problems).toEqual([]);
  });
});
