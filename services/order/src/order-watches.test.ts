import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createEventCatalog, createOutbox } from "@shopmesh/events";
import { createPool, migrate, withTx } from "@shopmesh/pg";
import { useTestDatabase, waitFor } from "@shopmesh/testing";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyTransitions, orderChangedChannel, registerWatches, unregisterWatch } from "./order-store.js";
import { createOrderWatcher, type OrderSubscription } from "./order-watch.js";
import { watchOrder } from "./read-orders.js";

/** Transitions announce nothing here: no event is written. */
const outbox = createOutbox(createEventCatalog([]));

const database = useTestDatabase("order_watches");
let pool: pg.Pool;

beforeAll(async () => {
  await migrate({
    databaseUrl: database.url,
    dir: [
      fileURLToPath(new URL("../../../packages/events/migrations", import.meta.url)),
      fileURLToPath(new URL("../migrations", import.meta.url)),
    ],
  });
  pool = createPool({ url: database.url, applicationName: "order-watches-test", onError: () => {} });
});

afterAll(async () => {
  await pool?.end();
});

async function newOrder(): Promise<string> {
  const orderId = randomUUID();
  await pool.query(
    `INSERT INTO orders (order_id, customer_id, status, total_minor, currency, idempotency_key, request_hash)
     VALUES ($1, 'customer', 'pending', 100, 'USD', $2, 'hash')`,
    [orderId, orderId],
  );
  return orderId;
}

const reserve = (orderId: string) =>
  withTx(pool, (tx) => applyTransitions(tx, outbox, [{ orderId, next: { status: "reserved", reason: "" } }], []));

describe("order change notifications", () => {
  it("are sent for watched orders only, and stop when the watch ends", async () => {
    const [unwatched, watched, unwatchedLater] = [await newOrder(), await newOrder(), await newOrder()];
    const watcher = randomUUID();
    const listener = new pg.Client({ connectionString: database.url });
    const received: string[] = [];
    listener.on("notification", (message) => received.push(message.payload ?? ""));
    await listener.connect();
    try {
      await listener.query(`LISTEN ${orderChangedChannel}`);
      await registerWatches(pool, watcher, [watched]);
      // Notifications arrive in commit order: had the first commit notified, its
      // notification would come before the watched order's.
      await reserve(unwatched);
      await reserve(watched);
      await waitFor(() => received.length > 0, { timeoutMs: 5_000, description: "a notification" });
      expect(received).toEqual([watched]);

      await unregisterWatch(pool, watcher, watched);
      await reserve(unwatchedLater);
      await registerWatches(pool, watcher, [unwatched]);
      await withTx(pool, (tx) =>
        applyTransitions(
          tx,
          outbox,
          [{ orderId: unwatched, next: { status: "confirmed", reason: "", paymentId: "p" } }],
          [],
        ),
      );
      await waitFor(() => received.length > 1, { timeoutMs: 5_000, description: "a second notification" });
      expect(received).toEqual([watched, unwatched]);
    } finally {
      await listener.end();
    }
  });
});

describe("a process's order watcher", () => {
  /** Whether the subscription's next wake-up has come; `woken()` answers it. */
  function nextWake(subscription: OrderSubscription, signal: AbortSignal) {
    let woken = false;
    void subscription.next(signal).then(() => {
      woken = true;
    });
    return () => woken;
  }

  it("registers a watched order again until it can, and wakes its watch then", async () => {
    const orderId = await newOrder();
    const logged: string[] = [];
    const log = new Writable({
      write(line, _encoding, done) {
        logged.push(String(line));
        done();
      },
    });
    const watcher = createOrderWatcher(pool, database.url, pino(log));
    const ending = new AbortController();
    // A saga transaction on the order that outlasts the pool's lock_timeout (2 s): the
    // registration, which waits for the order row, gives up.
    const slow = await pool.connect();
    try {
      await slow.query("BEGIN");
      await slow.query("SELECT 1 FROM orders WHERE order_id = $1 FOR UPDATE", [orderId]);
      const watch = watcher.subscribe(orderId);
      await waitFor(() => logged.some((line) => line.includes("could not register watched orders")), {
        timeoutMs: 10_000,
        description: "the registration to give up",
      });
      await slow.query("ROLLBACK");
      await waitFor(nextWake(watch, ending.signal), { timeoutMs: 10_000, description: "the order registered at last" });
      const changed = nextWake(watch, ending.signal);
      await reserve(orderId);
      await waitFor(changed, { timeoutMs: 5_000, description: "the change to wake the watch" });
      watch.close();
    } finally {
      slow.release();
      ending.abort();
      await watcher.close();
    }
  });

  it("keeps one LISTEN connection for short watches one after another", async () => {
    const watcher = createOrderWatcher(pool, database.url, pino({ level: "silent" }));
    const ending = new AbortController();
    const listeners = new Set<number>();
    try {
      for (let watch = 0; watch < 5; watch++) {
        const subscription = watcher.subscribe(await newOrder());
        await waitFor(nextWake(subscription, ending.signal), { timeoutMs: 5_000, description: "the order registered" });
        const { rows } = await pool.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE application_name = 'order-watch' AND datname = current_database()",
        );
        for (const { pid } of rows) listeners.add(pid);
        subscription.close();
      }
      expect(listeners.size).toBe(1);
    } finally {
      ending.abort();
      await watcher.close();
    }
  });

  it("wakes a watch that began while the previous one's listener was closing", async () => {
    const orderId = await newOrder();
    // The listener closes as soon as the last watch ends.
    const watcher = createOrderWatcher(pool, database.url, pino({ level: "silent" }), { lingerMs: 0 });
    const ending = new AbortController();
    try {
      const first = watcher.subscribe(orderId);
      await waitFor(nextWake(first, ending.signal), { timeoutMs: 5_000, description: "the first watch registered" });
      // The process's last watch ends and a new one begins at once (a page reloaded).
      first.close();
      const second = watcher.subscribe(orderId);
      await waitFor(nextWake(second, ending.signal), { timeoutMs: 5_000, description: "the second watch registered" });
      const listening = async () =>
        (
          await pool.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'order-watch' AND datname = current_database()",
          )
        ).rows[0]?.n === 1;
      await waitFor(listening, { timeoutMs: 5_000, description: "one LISTEN connection, the closing one gone" });
      const changed = nextWake(second, ending.signal);
      await reserve(orderId);
      await waitFor(changed, { timeoutMs: 5_000, description: "the change to wake the second watch" });
      second.close();
    } finally {
      ending.abort();
      await watcher.close();
    }
  });

  it("repeats a quiet order's state, and finds a change that notified no one", async () => {
    const orderId = await newOrder();
    const watcher = createOrderWatcher(pool, database.url, pino({ level: "silent" }), { quietMs: 300 });
    const ending = new AbortController();
    const stream = watchOrder(pool, watcher, "customer", orderId, ending.signal);
    const states: string[] = [];
    let pulling: Promise<void> | undefined;
    // What the stream has sent so far, keeping one pull of its next message in flight.
    const heard = () => {
      pulling ??= stream.next().then((step) => {
        if (!step.done) states.push(step.value.status);
        pulling = undefined;
      });
      return states;
    };
    try {
      await waitFor(() => heard().length >= 1, { timeoutMs: 5_000, description: "the order's state at once" });
      // Nothing changes: the watch says so again, so a client can tell a silent stream
      // from a lost one.
      await waitFor(() => heard().length >= 2, { timeoutMs: 5_000, description: "the quiet order's state repeated" });
      expect(states.slice(0, 2)).toEqual(["pending", "pending"]);
      // A change written without the NOTIFY (as if the notification were lost): the
      // next quiet re-read finds it.
      await pool.query("UPDATE orders SET status = 'reserved' WHERE order_id = $1", [orderId]);
      await waitFor(() => heard().at(-1) === "reserved", {
        timeoutMs: 5_000,
        description: "the change found by a quiet re-read",
      });
    } finally {
      ending.abort();
      await pulling;
      await stream.return(undefined);
      await watcher.close();
    }
  });
});
