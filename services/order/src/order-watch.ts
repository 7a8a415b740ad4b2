import { createListener, type Listener } from "@shopmesh/pg";
import type { Logger } from "pino";
import { orderChangedChannel } from "./order-store.js";

/** Change notifications of one order, for one watcher. */
export interface OrderSubscription {
  /** Resolves at the next change (at once if one came since the last call), or when `signal` aborts. */
  next(signal: AbortSignal): Promise<void>;
  close(): void;
}

/** Fans out order-change notifications to the watchers in this process. */
export interface OrderWatcher {
  subscribe(orderId: string): OrderSubscription;
  close(): Promise<void>;
}

/**
 * One LISTEN connection per process for every WatchOrder stream, open only while
 * someone watches: a transaction that changes an order NOTIFYs its id on commit, in
 * whichever replica it ran, and each replica wakes its own watchers of that order.
 * After a (re)connect every watcher re-reads, as notifications may have been missed.
 */
export function createOrderWatcher(databaseUrl: string, logger: Logger): OrderWatcher {
  const watchers = new Map<string, Set<() => void>>();
  let listener: Listener | undefined;
  const wakeAll = () => {
    for (const set of watchers.values()) for (const wake of set) wake();
  };
  const listen = () =>
    createListener({
      url: databaseUrl,
      channel: orderChangedChannel,
      applicationName: "order-watch",
      onNotify: (orderId) => {
        for (const wake of watchers.get(orderId) ?? []) wake();
      },
      onConnect: wakeAll,
      onError: (error) => logger.warn({ err: error }, "order LISTEN connection failed; reconnecting"),
    });
  return {
    subscribe(orderId) {
      let changed = false;
      let resolve: (() => void) | undefined;
      const wake = () => {
        changed = true;
        resolve?.();
      };
      const set = watchers.get(orderId) ?? new Set();
      watchers.set(orderId, set.add(wake));
      listener ??= listen();
      return {
        next(signal) {
          if (changed || signal.aborted) {
            changed = false;
            return Promise.resolve();
          }
          return new Promise<void>((done) => {
            const finish = () => {
              resolve = undefined;
              changed = false;
              signal.removeEventListener("abort", finish);
              done();
            };
            resolve = finish;
            signal.addEventListener("abort", finish, { once: true });
          });
        },
        close() {
          set.delete(wake);
          if (set.size === 0) watchers.delete(orderId);
          if (watchers.size === 0 && listener) {
            void listener.close();
            listener = undefined;
          }
        },
      };
    },
    async close() {
      await listener?.close();
      listener = undefined;
    },
  };
}
