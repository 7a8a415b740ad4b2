import { randomUUID } from "node:crypto";
import { createOutbox } from "@shopmesh/events";
import { withTx } from "@shopmesh/pg";
import { waitFor } from "@shopmesh/testing";
import type pg from "pg";
import { describe, expect, it, vi } from "vitest";
import { releaseStock, releaseStocks } from "../src/release-stock.js";
import { type ReservationRequest, reserveStock, reserveStocks } from "../src/reserve-stock.js";
import { sellReservedStocks } from "../src/sell-stock.js";
import { createStockEvents, type StockEvents } from "../src/stock-events.js";
import { addProducts, reservationStatusOf, stockOf, useInventoryService } from "./harness.js";

const inventory = useInventoryService("batches");
const charge = { total: { amountMinor: 1_000n, currency: "USD" }, paymentToken: "tok_test_visa" };

let stockEvents: StockEvents | undefined;
const events = () => {
  stockEvents ??= createStockEvents(createOutbox(inventory.catalog));
  return stockEvents;
};

/** Runs use-case work in one transaction and counts the statements it sends (BEGIN and COMMIT aside). */
async function counted<T>(work: (tx: pg.PoolClient) => Promise<T>): Promise<{ result: T; statements: number }> {
  return withTx(inventory.pool, async (tx) => {
    const spy = vi.spyOn(tx, "query");
    try {
      const result = await work(tx);
      return { result, statements: spy.mock.calls.length };
    } finally {
      spy.mockRestore();
    }
  });
}

/** The outbox event types written for an order, in order. */
async function announced(orderId: string): Promise<string[]> {
  const { rows } = await inventory.pool.query<{ event_type: string }>(
    "SELECT event_type FROM outbox WHERE headers->>'Shopmesh-Key' = $1 ORDER BY id",
    [orderId],
  );
  return rows.map((row) => row.event_type.replace("shopmesh.inventory.v1.", ""));
}

const order = (items: Record<string, number>, withCharge = true): ReservationRequest => ({
  orderId: randomUUID(),
  items: Object.entries(items).map(([sku, quantity]) => ({ sku, quantity })),
  charge: withCharge ? charge : undefined,
});

describe("reserveStocks", () => {
  it("serves a batch of orders for scarce stock in turn, all or nothing each, in two statements", async () => {
    await addProducts(inventory, { "BAT-SCARCE": 5, "BAT-SIDE": 100 });
    const requests = Array.from({ length: 12 }, (_, i) => order({ "BAT-SIDE": 1, "BAT-SCARCE": i === 2 ? 4 : 1 }));

    const { result, statements } = await counted((tx) => reserveStocks(tx, events(), requests));

    expect(statements).toBe(2);
    expect(result.map((answer) => answer.status)).toEqual([
      ...["reserved", "reserved", "rejected", "reserved", "reserved", "reserved"],
      ...Array(6).fill("rejected"),
    ]);
    expect(result[2]).toEqual({
      status: "rejected",
      shortages: [{ sku: "BAT-SCARCE", requested: 4, available: 3n }],
    });
    expect(result[6]).toEqual({
      status: "rejected",
      shortages: [{ sku: "BAT-SCARCE", requested: 1, available: 0n }],
    });
    expect(await stockOf(inventory, "BAT-SCARCE")).toEqual({ available: 0, reserved: 5, sold: 0 });
    expect(await stockOf(inventory, "BAT-SIDE")).toEqual({ available: 95, reserved: 5, sold: 0 });
    for (const [i, request] of requests.entries()) {
      const status = result[i]?.status;
      expect(await reservationStatusOf(inventory, request.orderId)).toBe(status);
      expect(await announced(request.orderId)).toEqual([status === "reserved" ? "StockReserved" : "StockRejected"]);
    }
  });

  it("answers repeats in the batch and before it with the first outcome, and tombstones with released", async () => {
    await addProducts(inventory, { "BAT-REPEAT": 10 });
    const earlier = order({ "BAT-REPEAT": 2 });
    const rejected = order({ "BAT-REPEAT": 50 });
    const cancelled = order({ "BAT-REPEAT": 1 });
    await withTx(inventory.pool, async (tx) => {
      await reserveStocks(tx, events(), [earlier, rejected]);
      // The order was cancelled before inventory saw it placed (OrderCancelled first).
      await releaseStocks(tx, events(), [cancelled.orderId]);
    });
    const fresh = order({ "BAT-REPEAT": 3 });

    const { result, statements } = await counted((tx) =>
      reserveStocks(tx, events(), [earlier, fresh, cancelled, rejected, fresh]),
    );

    expect(statements).toBe(3);
    expect(result).toEqual([
      { status: "reserved" },
      { status: "reserved" },
      { status: "released" },
      { status: "rejected", shortages: [{ sku: "BAT-REPEAT", requested: 50, available: 8n }] },
      { status: "reserved" },
    ]);
    expect(await stockOf(inventory, "BAT-REPEAT")).toEqual({ available: 5, reserved: 5, sold: 0 });
    expect(await announced(earlier.orderId)).toEqual(["StockReserved"]);
    expect(await announced(fresh.orderId)).toEqual(["StockReserved"]);
    expect(await announced(cancelled.orderId)).toEqual([]);
  });

  it("announces, at OrderPlaced, what an operator's ReserveStock or ReleaseStock answered before it, once", async () => {
    await addProducts(inventory, { "BAT-OPER": 10 });
    const reservedByOperator = order({ "BAT-OPER": 2 });
    const releasedByOperator = order({ "BAT-OPER": 1 });
    await withTx(inventory.pool, async (tx) => {
      await reserveStock(tx, events(), { orderId: reservedByOperator.orderId, items: reservedByOperator.items });
      await releaseStock(tx, events(), releasedByOperator.orderId);
    });
    expect(await announced(reservedByOperator.orderId)).toEqual([]);
    expect(await announced(releasedByOperator.orderId)).toEqual([]);

    await withTx(inventory.pool, (tx) => reserveStocks(tx, events(), [reservedByOperator, releasedByOperator]));
    expect(await announced(reservedByOperator.orderId)).toEqual(["StockReserved"]);
    expect(await announced(releasedByOperator.orderId)).toEqual(["StockReleased"]);
    // Published again as a new event, OrderPlaced announces nothing more.
    await withTx(inventory.pool, (tx) => reserveStocks(tx, events(), [reservedByOperator, releasedByOperator]));
    expect(await announced(reservedByOperator.orderId)).toEqual(["StockReserved"]);
    expect(await announced(releasedByOperator.orderId)).toEqual(["StockReleased"]);
    expect(await stockOf(inventory, "BAT-OPER")).toEqual({ available: 8, reserved: 2, sold: 0 });
  });

  it("announces nothing more at OrderPlaced when an operator released what an operator reserved", async () => {
    await addProducts(inventory, { "BAT-OPER-REL": 10 });
    const placed = order({ "BAT-OPER-REL": 3 });
    await withTx(inventory.pool, (tx) => reserveStock(tx, events(), { orderId: placed.orderId, items: placed.items }));
    // The release announces itself: StockReleased tells the order it is cancelled.
    expect(await withTx(inventory.pool, (tx) => releaseStock(tx, events(), placed.orderId))).toEqual(placed.items);
    expect(await announced(placed.orderId)).toEqual(["StockReleased"]);

    expect(await withTx(inventory.pool, (tx) => reserveStocks(tx, events(), [placed]))).toEqual([
      { status: "released" },
    ]);
    expect(await announced(placed.orderId)).toEqual(["StockReleased"]);
    expect(await stockOf(inventory, "BAT-OPER-REL")).toEqual({ available: 10, reserved: 0, sold: 0 });
  });

  it("replaces, at OrderPlaced, an operator's reservation of other items with the order's own, and announces it", async () => {
    await addProducts(inventory, { "BAT-SWAP-A": 10, "BAT-SWAP-B": 10, "BAT-SWAP-C": 5 });
    const other = order({ "BAT-SWAP-A": 2 });
    const wanted = order({ "BAT-SWAP-A": 3, "BAT-SWAP-B": 1 });
    const nowShort = order({ "BAT-SWAP-B": 50 });
    const nowHeld = order({ "BAT-SWAP-B": 2 });
    const allOfIt = order({ "BAT-SWAP-C": 5 });
    await withTx(inventory.pool, async (tx) => {
      await reserveStock(tx, events(), { orderId: wanted.orderId, items: other.items });
      await reserveStock(tx, events(), { orderId: nowShort.orderId, items: [{ sku: "BAT-SWAP-B", quantity: 1 }] });
      await reserveStock(tx, events(), { orderId: nowHeld.orderId, items: [{ sku: "BAT-SWAP-B", quantity: 100 }] });
      await reserveStock(tx, events(), { orderId: allOfIt.orderId, items: [{ sku: "BAT-SWAP-C", quantity: 1 }] });
    });
    expect(await stockOf(inventory, "BAT-SWAP-A")).toEqual({ available: 8, reserved: 2, sold: 0 });
    const fresh = order({ "BAT-SWAP-A": 1 });

    const result = await withTx(inventory.pool, (tx) =>
      reserveStocks(tx, events(), [wanted, fresh, nowShort, nowHeld, allOfIt, wanted]),
    );

    expect(result).toEqual([
      { status: "reserved" },
      { status: "reserved" },
      { status: "rejected", shortages: [{ sku: "BAT-SWAP-B", requested: 50, available: 9n }] },
      { status: "reserved" },
      { status: "reserved" },
      { status: "reserved" },
    ]);
    // The operator's units went back on sale before the orders' own were taken.
    expect(await stockOf(inventory, "BAT-SWAP-A")).toEqual({ available: 6, reserved: 4, sold: 0 });
    expect(await stockOf(inventory, "BAT-SWAP-B")).toEqual({ available: 7, reserved: 3, sold: 0 });
    expect(await stockOf(inventory, "BAT-SWAP-C")).toEqual({ available: 0, reserved: 5, sold: 0 });
    expect(await announced(wanted.orderId)).toEqual(["StockReserved"]);
    expect(await announced(nowShort.orderId)).toEqual(["StockRejected"]);
    expect(await announced(nowHeld.orderId)).toEqual(["StockReserved"]);
    // Published again, OrderPlaced answers the same and announces nothing more; the
    // operator's request is now the mismatch.
    expect(await withTx(inventory.pool, (tx) => reserveStocks(tx, events(), [wanted]))).toEqual([
      { status: "reserved" },
    ]);
    expect(await announced(wanted.orderId)).toEqual(["StockReserved"]);
    await expect(
      withTx(inventory.pool, (tx) => reserveStock(tx, events(), { orderId: wanted.orderId, items: other.items })),
    ).rejects.toMatchObject({ code: "STOCK.ORDER_MISMATCH" });
  });

  it("serves a batch in its order when an order of it replaces an operator's reservation", async () => {
    await addProducts(inventory, { "BAT-ORDER-SCARCE": 3, "BAT-ORDER-FREED": 10, "BAT-ORDER-MINE": 10 });
    // The first order's operator reservation holds units the third asks for.
    const first = order({ "BAT-ORDER-SCARCE": 3 });
    const second = order({ "BAT-ORDER-SCARCE": 3 });
    const third = order({ "BAT-ORDER-FREED": 5 });
    await withTx(inventory.pool, (tx) =>
      reserveStock(tx, events(), { orderId: first.orderId, items: [{ sku: "BAT-ORDER-FREED", quantity: 8 }] }),
    );

    const result = await withTx(inventory.pool, (tx) => reserveStocks(tx, events(), [first, second, third]));

    // The first order is served before the second; the third gets the units the first's
    // operator reservation held, as it would have applied one at a time.
    expect(result.map((answer) => answer.status)).toEqual(["reserved", "rejected", "reserved"]);
    expect(await stockOf(inventory, "BAT-ORDER-SCARCE")).toEqual({ available: 0, reserved: 3, sold: 0 });
    expect(await stockOf(inventory, "BAT-ORDER-FREED")).toEqual({ available: 5, reserved: 5, sold: 0 });
  });

  it("answers released at OrderPlaced when an operator reserved other items and released them", async () => {
    await addProducts(inventory, { "BAT-REL-OTHER": 10, "BAT-REL-MINE": 10 });
    const placed = order({ "BAT-REL-MINE": 1 });
    await withTx(inventory.pool, async (tx) => {
      await reserveStock(tx, events(), { orderId: placed.orderId, items: [{ sku: "BAT-REL-OTHER", quantity: 2 }] });
      await releaseStock(tx, events(), placed.orderId);
    });

    expect(await withTx(inventory.pool, (tx) => reserveStocks(tx, events(), [placed]))).toEqual([
      { status: "released" },
    ]);
    expect(await announced(placed.orderId)).toEqual(["StockReleased"]);
    expect(await stockOf(inventory, "BAT-REL-OTHER")).toEqual({ available: 10, reserved: 0, sold: 0 });
    expect(await stockOf(inventory, "BAT-REL-MINE")).toEqual({ available: 10, reserved: 0, sold: 0 });
  });

  it("refuses the whole batch when one order asks again for other items, changing nothing", async () => {
    await addProducts(inventory, { "BAT-MISMATCH": 10 });
    const first = order({ "BAT-MISMATCH": 2 });
    await withTx(inventory.pool, (tx) => reserveStock(tx, events(), first));
    const bystander = order({ "BAT-MISMATCH": 1 });

    const batch = withTx(inventory.pool, (tx) =>
      reserveStocks(tx, events(), [bystander, { ...first, items: [{ sku: "BAT-MISMATCH", quantity: 3 }] }]),
    );

    await expect(batch).rejects.toMatchObject({ code: "STOCK.ORDER_MISMATCH" });
    expect(await reservationStatusOf(inventory, bystander.orderId)).toBeUndefined();
    expect(await stockOf(inventory, "BAT-MISMATCH")).toEqual({ available: 8, reserved: 2, sold: 0 });
  });
});

describe("sellReservedStocks and releaseStocks", () => {
  it("sell a batch of reservations in two statements, skipping released, rejected and repeated ones", async () => {
    await addProducts(inventory, { "BAT-SELL-A": 10, "BAT-SELL-B": 10 });
    const [a, b, released, rejected] = [
      order({ "BAT-SELL-A": 2, "BAT-SELL-B": 1 }),
      order({ "BAT-SELL-A": 3 }),
      order({ "BAT-SELL-B": 4 }),
      order({ "BAT-SELL-A": 99 }),
    ] as const;
    await withTx(inventory.pool, async (tx) => {
      await reserveStocks(tx, events(), [a, b, released, rejected]);
      await releaseStock(tx, events(), released.orderId);
    });

    const ids = [a.orderId, b.orderId, released.orderId, rejected.orderId, a.orderId];
    const { result, statements } = await counted((tx) => sellReservedStocks(tx, ids));

    expect(statements).toBe(2);
    expect(result.map((step) => step.kind)).toEqual(["move", "move", "none", "none", "none"]);
    expect(await stockOf(inventory, "BAT-SELL-A")).toEqual({ available: 5, reserved: 0, sold: 5 });
    expect(await stockOf(inventory, "BAT-SELL-B")).toEqual({ available: 9, reserved: 0, sold: 1 });
    expect(await reservationStatusOf(inventory, a.orderId)).toBe("sold");
  });

  it("sell nothing while any reservation of the batch is missing (the batch is retried)", async () => {
    await addProducts(inventory, { "BAT-MISSING": 10 });
    const placed = order({ "BAT-MISSING": 1 });
    await withTx(inventory.pool, (tx) => reserveStock(tx, events(), placed));

    const selling = withTx(inventory.pool, (tx) => sellReservedStocks(tx, [placed.orderId, randomUUID()]));

    await expect(selling).rejects.toThrow(/has no reservation/);
    expect(await stockOf(inventory, "BAT-MISSING")).toEqual({ available: 9, reserved: 1, sold: 0 });
  });

  it("release reserved and sold orders, tombstone unknown ones and ignore repeats, in three statements", async () => {
    await addProducts(inventory, { "BAT-REL-A": 10, "BAT-REL-B": 10 });
    const [held, sold] = [order({ "BAT-REL-A": 2, "BAT-REL-B": 1 }), order({ "BAT-REL-A": 3 })] as const;
    await withTx(inventory.pool, async (tx) => {
      await reserveStocks(tx, events(), [held, sold]);
      await sellReservedStocks(tx, [sold.orderId]);
    });
    const early = randomUUID();

    const ids = [held.orderId, early, sold.orderId, held.orderId, early];
    const { result, statements } = await counted((tx) => releaseStocks(tx, events(), ids));

    expect(statements).toBe(3);
    expect(result).toEqual([
      [
        { sku: "BAT-REL-A", quantity: 2 },
        { sku: "BAT-REL-B", quantity: 1 },
      ],
      [],
      [{ sku: "BAT-REL-A", quantity: 3 }],
      [],
      [],
    ]);
    expect(await stockOf(inventory, "BAT-REL-A")).toEqual({ available: 10, reserved: 0, sold: 0 });
    expect(await stockOf(inventory, "BAT-REL-B")).toEqual({ available: 10, reserved: 0, sold: 0 });
    expect(await reservationStatusOf(inventory, early)).toBe("released");
    expect(await announced(held.orderId)).toEqual(["StockReserved", "StockReleased"]);
    expect(await announced(sold.orderId)).toEqual(["StockReserved", "StockReleased"]);
    expect(await announced(early)).toEqual([]);
  });
});

describe("concurrent batches", () => {
  it("that lock each other's products in opposite orders queue instead of deadlocking", async () => {
    await addProducts(inventory, { "BAT-LOCK-A": 10, "BAT-LOCK-B": 10 });
    const [holdsA, holdsB] = [order({ "BAT-LOCK-A": 1 }), order({ "BAT-LOCK-B": 1 })];
    await withTx(inventory.pool, (tx) => reserveStocks(tx, events(), [holdsA, holdsB]));
    const clients = [await inventory.pool.connect(), await inventory.pool.connect()] as const;
    const [first, second] = clients;
    let secondBatch: Promise<void> | undefined;
    try {
      const { rows } = await second.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      await first.query("BEGIN");
      await second.query("BEGIN");
      await reserveStocks(first, events(), [order({ "BAT-LOCK-A": 2 })]);
      secondBatch = (async () => {
        await reserveStocks(second, events(), [order({ "BAT-LOCK-B": 2 })]);
        await sellReservedStocks(second, [holdsA.orderId]);
        await second.query("COMMIT");
      })();
      await waitFor(
        async () => {
          const waiting = await inventory.pool.query(
            "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
            [rows[0]?.pid],
          );
          return waiting.rowCount === 1;
        },
        { description: "the second batch to wait for a lock" },
      );
      await sellReservedStocks(first, [holdsB.orderId]);
      await first.query("COMMIT");
      await secondBatch;
    } finally {
      await first.query("ROLLBACK").catch(() => undefined);
      await secondBatch?.catch(() => undefined);
      await second.query("ROLLBACK").catch(() => undefined);
      for (const client of clients) client.release();
    }
    expect(await stockOf(inventory, "BAT-LOCK-A")).toEqual({ available: 7, reserved: 2, sold: 1 });
    expect(await stockOf(inventory, "BAT-LOCK-B")).toEqual({ available: 7, reserved: 2, sold: 1 });
  });
});
