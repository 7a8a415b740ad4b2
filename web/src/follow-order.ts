import type { Order } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import { isFinal } from "./order-progress.js";
import { explain, type Problem } from "./problem.js";

/** What a follower is told. */
export interface OrderFollower {
  onOrder(order: Order): void;
  onProblem(problem: Problem): void;
}

/** How patiently an order is followed. */
export interface FollowTiming {
  /** The wait before watching again after a stream broke. */
  readonly reconnectMs: number;
  /**
   * How long a stream may stay silent before it counts as lost. WatchOrder repeats
   * a quiet order's state every 15 to 20 s, so a longer silence means the stream is gone
   * (a proxy or a mobile network dropped it without a word).
   */
  readonly silenceMs: number;
}

const defaultTiming: FollowTiming = { reconnectMs: 3_000, silenceMs: 45_000 };

/** A WatchOrder call, as the Connect client makes it. */
export type WatchOrder = (signal: AbortSignal) => AsyncIterable<{ order?: Order }>;

/**
 * Follows one order through WatchOrder until it is final: every state it sends goes
 * to `onOrder`; a stream that breaks for a reason worth retrying, ends early or falls
 * silent is watched again. Returns the function that stops following.
 */
export function followOrder(watch: WatchOrder, follower: OrderFollower, timing = defaultTiming): () => void {
  const stopped = new AbortController();
  let again: ReturnType<typeof setTimeout> | undefined;
  const attempt = async () => {
    const stream = new AbortController();
    const stopStream = () => stream.abort();
    stopped.signal.addEventListener("abort", stopStream, { once: true });
    let silent = false;
    let silence: ReturnType<typeof setTimeout> | undefined;
    const listen = () => {
      clearTimeout(silence);
      silence = setTimeout(() => {
        silent = true;
        stream.abort();
      }, timing.silenceMs);
    };
    let last: Order | undefined;
    let retryInMs: number | undefined;
    try {
      listen();
      for await (const { order } of watch(stream.signal)) {
        listen();
        if (!order) continue;
        last = order;
        follower.onOrder(order);
      }
      if (last && !isFinal(last.status)) retryInMs = timing.reconnectMs;
    } catch (error) {
      if (silent) retryInMs = 0;
      else if (!stopped.signal.aborted) {
        const problem = explain(error, "Live order status");
        follower.onProblem(problem);
        if (problem.retryable) retryInMs = timing.reconnectMs;
      }
    } finally {
      clearTimeout(silence);
      stopped.signal.removeEventListener("abort", stopStream);
    }
    if (retryInMs !== undefined && !stopped.signal.aborted) again = setTimeout(() => void attempt(), retryInMs);
  };
  void attempt();
  return () => {
    stopped.abort();
    clearTimeout(again);
  };
}
