import { randomUUID } from "node:crypto";
import { createListener, type Listener } from "@shopmesh/pg";
import { outsideAnyTrace } from "@shopmesh/telemetry";
import type pg from "pg";
import type { Logger } from "pino";
import { orderChangedChannel, refreshWatches, registerWatches, unregisterWatch } from "./order-store.js";

/** Change notifications of one order, for one watcher. */
export interface OrderSubscription {
  /**
   * Resolves at the next change (at once if one came since the last call) with
   * "changed", with "quiet" once the watcher's quiet period passes without one, or
   * when `signal` aborts.
   */
  next(signal: AbortSignal): Promise<"changed" | "quiet">;
  close(): void;
}

/** Fans out order-change notifications to the watchers in this process. */
export interface OrderWatcher {
  subscribe(orderId: string): OrderSubscription;
  close(): Promise<void>;
}

/** How often a watching process extends its registrations (they last 5 minutes). */
const refreshEveryMs = 60_000;
/**
 * How long the LISTEN connection stays open after the last watch ends: watches come
 * and go (a page opened, a tab closed), and one connection made per short watch would
 * churn connections — with two open at once while one closes and the next opens.
 * Unwatched orders send no notifications, so an idle connection receives nothing.
 */
const defaultLingerMs = 30_000;
/** The first wait before registering a watched order again, doubled up to the second. */
const registrationRetryMs = 250;
const maxRegistrationRetryMs = 5_000;
/**
 * How long a watch may hear nothing (at most; a quarter less at least) before it is
 * told "quiet", so WatchOrder re-reads
 * and repeats the order's state: a client that hears nothing for much longer knows
 * its stream is lost (proxies cut idle streams, mobile networks drop them without a
 * word), and a change whose notification never came is found within this time.
 */
const defaultQuietMs = 20_000;

/**
 * One LISTEN connection per process for every WatchOrder stream, open while someone
 * watches and for a while after (see defaultLingerMs). The process registers the orders it watches in `order_watches`,
 * and a transaction that changes one of them NOTIFYs its id on commit, in whichever
 * replica it ran; each replica wakes its own watchers of that order. A watcher re-reads
 * once its order is registered, and every watcher re-reads after a (re)connect, as
 * notifications may have been missed.
 */
export function createOrderWatcher(
  pool: pg.Pool,
  databaseUrl: string,
  logger: Logger,
  { lingerMs = defaultLingerMs, quietMs = defaultQuietMs } = {},
): OrderWatcher {
  const watcherId = randomUUID();
  const watchers = new Map<string, Set<() => void>>();
  let listener: Listener | undefined;
  let refresh: NodeJS.Timeout | undefined;
  let lingering: NodeJS.Timeout | undefined;
  const wakeOrders = (orderIds: Iterable<string>) => {
    for (const orderId of orderIds) for (const wakeOne of watchers.get(orderId) ?? []) wakeOne();
  };
  // Registrations and unregistrations run one after the other, in the order they were
  // asked for: on two pooled connections, a watch ended and one begun at once for the
  // same order could be deleted after its new registration.
  let registrations = Promise.resolve();
  const inTurn = (work: () => Promise<unknown>) => {
    registrations = registrations.then(work).then(
      () => undefined,
      () => undefined,
    );
  };
  // A watch is woken once its order is registered: from then on every change notifies.
  // A registration that fails (a lock held past lock_timeout, the pool exhausted) is
  // tried again while the order is watched: unregistered, its changes would wake no one.
  const register = (orderIds: string[], attempt = 0) =>
    inTurn(async () => {
      const watched = orderIds.filter((orderId) => watchers.has(orderId));
      if (watched.length === 0) return;
      try {
        await registerWatches(pool, watcherId, watched);
        wakeOrders(watched);
      } catch (error) {
        const retryInMs = Math.min(registrationRetryMs * 2 ** attempt, maxRegistrationRetryMs);
        logger.warn({ err: error, retryInMs }, "could not register watched orders; trying again");
        setTimeout(() => register(watched, attempt + 1), retryInMs).unref();
      }
    });
  const listen = () => {
    refresh = setInterval(() => {
      refreshWatches(pool, watcherId).catch((error: unknown) =>
        logger.warn({ err: error }, "could not refresh watched orders"),
      );
    }, refreshEveryMs).unref();
    return createListener({
      url: databaseUrl,
      channel: orderChangedChannel,
      applicationName: "order-watch",
      onNotify: (orderId) => wakeOrders([orderId]),
      onConnect: () => register([...watchers.keys()]),
      onError: (error) => logger.warn({ err: error }, "order LISTEN connection failed; reconnecting"),
    });
  };
  // A watch that begins while the listener closes opens another.
  const stopListening = async () => {
    clearTimeout(lingering);
    clearInterval(refresh);
    const closing = listener;
    listener = undefined;
    await closing?.close();
  };
  return {
    subscribe(orderId) {
      let changed = false;
      let resolve: (() => void) | undefined;
      const wake = () => {
        changed = true;
        resolve?.();
      };
      clearTimeout(lingering);
      const known = watchers.get(orderId);
      const set = known ?? new Set();
      watchers.set(orderId, set.add(wake));
      if (listener) {
        if (!known) register([orderId]);
      } else {
        // The connection serves every watcher of the process, not the call that opened it.
        listener = outsideAnyTrace(listen);
      }
      return {
        next(signal) {
          if (changed || signal.aborted) {
            changed = false;
            return Promise.resolve("changed");
          }
          return new Promise((done) => {
            const finish = () => {
              resolve = undefined;
              clearTimeout(quiet);
              signal.removeEventListener("abort", finish);
              done(changed ? "changed" : "quiet");
              changed = false;
            };
            // Spread over the last quarter of the period: watches that began together
            // (clients reconnecting after a replica went away) re-read apart.
            const quiet = setTimeout(finish, quietMs * (0.75 + Math.random() / 4));
            resolve = finish;
            signal.addEventListener("abort", finish, { once: true });
          });
        },
        close() {
          set.delete(wake);
          if (set.size > 0) return;
          watchers.delete(orderId);
          inTurn(() =>
            unregisterWatch(pool, watcherId, orderId).catch((error: unknown) =>
              logger.warn({ err: error }, "could not unregister a watched order"),
            ),
          );
          if (watchers.size === 0) lingering = setTimeout(() => void stopListening(), lingerMs).unref();
        },
      };
    },
    close: stopListening,
  };
}
