import { randomUUID } from "node:crypto";
import { createEventCatalog, createOutbox } from "@shopmesh/events";
import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { withTx } from "@shopmesh/pg";
import { describe, expect, it } from "vitest";
import { useOrderDatabase } from "../test/order-database.js";
import { OrderError } from "./errors.js";
import type { OrderLine } from "./order.js";
import { applyTransitions, createOrderInserter, insertOrders, type NewOrder, type OrderInsert } from "./order-store.js";
import { listOrders } from "./read-orders.js";

const database = useOrderDatabase("order store");

const outbox = createOutbox(createEventCatalog([OrderPlacedSchema]));

/** A new order for a customer, with its OrderPlaced outbox row. */
function newOrder(customerId: string, idempotencyKey: string, lines: OrderLine[]): OrderInsert {
  const order: NewOrder = {
    orderId: randomUUID(),
    customerId,
    lines,
    totalMinor: lines.reduce((sum, line) => sum + line.unitPriceMinor * BigInt(line.quantity), 0n),
    currency: "EUR",
    idempotencyKey,
    requestHash: `hash of ${idempotencyKey}`,
  };
  return { order, placed: outbox.prepare(OrderPlacedSchema, { orderId: order.orderId, customerId }) };
}

const line = (sku: string, quantity: number): OrderLine => ({
  sku,
  name: `Product ${sku}`,
  quantity,
  unitPriceMinor: 250n,
});

async function stored(orderId: string) {
  const [orders, lines, history, events] = await Promise.all([
    database.pool().query("SELECT created_at FROM orders WHERE order_id = $1", [orderId]),
    database
      .pool()
      .query("SELECT line_no, sku, quantity FROM order_lines WHERE order_id = $1 ORDER BY line_no", [orderId]),
    database.pool().query("SELECT seq, status FROM order_history WHERE order_id = $1", [orderId]),
    database.pool().query("SELECT event_type FROM outbox WHERE headers->>'Shopmesh-Key' = $1", [orderId]),
  ]);
  return {
    createdAt: orders.rows[0]?.created_at as Date | undefined,
    lines: lines.rows,
    history: history.rows,
    events: events.rows.map((row) => row.event_type),
  };
}

describe("insertOrders", () => {
  it("writes each order with its own lines, history and event; a repeated key writes nothing for the later order", async () => {
    const first = newOrder("alice", "key-1", [line("SKU-1", 2), line("SKU-2", 1)]);
    const sameKey = newOrder("alice", "key-1", [line("SKU-3", 1)]);
    const otherCustomer = newOrder("bob", "key-1", [line("SKU-3", 4)]);
    const answers = await insertOrders(database.pool(), outbox, [first, sameKey, otherCustomer]);

    expect(answers.map((answer) => answer !== undefined)).toEqual([true, false, true]);
    expect(await stored(first.order.orderId)).toEqual({
      createdAt: answers[0]?.createdAt,
      lines: [
        { line_no: 1, sku: "SKU-1", quantity: 2 },
        { line_no: 2, sku: "SKU-2", quantity: 1 },
      ],
      history: [{ seq: 1, status: "pending" }],
      events: ["shopmesh.order.v1.OrderPlaced"],
    });
    expect(await stored(sameKey.order.orderId)).toEqual({ createdAt: undefined, lines: [], history: [], events: [] });
    expect((await stored(otherCustomer.order.orderId)).lines).toEqual([{ line_no: 1, sku: "SKU-3", quantity: 4 }]);
  });
});

describe("createOrderInserter", () => {
  it("inserts the orders placed in one turn of the event loop with one statement, and later ones with another", async () => {
    const insert = createOrderInserter(database.pool(), outbox);
    const together = await Promise.all([
      insert(newOrder("carol", randomUUID(), [line("SKU-1", 1)])),
      insert(newOrder("dave", randomUUID(), [line("SKU-2", 1)])),
      insert(newOrder("erin", randomUUID(), [line("SKU-3", 1)])),
    ]);
    const later = await insert(newOrder("carol", randomUUID(), [line("SKU-1", 1)]));

    // now() is the statement's transaction start: one statement, one creation time.
    const times = together.map((answer) => answer?.createdAt?.getTime());
    expect(new Set(times).size).toBe(1);
    expect(times[0]).toBeDefined();
    expect(later?.createdAt.getTime()).not.toBe(times[0]);
  });

  it("fails only the order a shared statement cannot take; the others of its turn are inserted", async () => {
    const insert = createOrderInserter(database.pool(), outbox);
    const good = newOrder("frank", randomUUID(), [line("SKU-1", 1)]);
    const bad = newOrder("grace", randomUUID(), [line("SKU-2", 0)]);
    const [goodAnswer, badAnswer] = await Promise.allSettled([insert(good), insert(bad)]);

    expect(goodAnswer.status).toBe("fulfilled");
    expect(badAnswer).toMatchObject({ status: "rejected", reason: { code: "23514" } });
    expect((await stored(good.order.orderId)).events).toEqual(["shopmesh.order.v1.OrderPlaced"]);
    expect(await stored(bad.order.orderId)).toEqual({ createdAt: undefined, lines: [], history: [], events: [] });
  });
});

describe("listing a customer's orders", () => {
  const anySize = { sizeOf: () => 1, max: Number.POSITIVE_INFINITY };

  it("ends a page early where the next order would not fit, and the token goes on from there", async () => {
    const customerId = `customer-${randomUUID()}`;
    const placed = [];
    for (const key of ["one", "two", "three", "four"]) {
      const order = newOrder(customerId, key, [line("A", 1)]);
      await insertOrders(database.pool(), outbox, [order]);
      placed.unshift(order.order.orderId);
    }
    // Each order "takes" 10 bytes and a page 25: two orders to a page, whatever its size.
    const bytes = { sizeOf: () => 10, max: 25 };
    const first = await listOrders(database.pool(), customerId, 3, "", bytes);
    const second = await listOrders(database.pool(), customerId, 3, first.nextPageToken, bytes);
    expect([first.orders.length, second.orders.length, second.nextPageToken]).toEqual([2, 2, ""]);
    expect([...first.orders, ...second.orders].map((order) => order.orderId)).toEqual(placed);
    // An order larger than a page still comes, alone.
    const alone = await listOrders(database.pool(), customerId, 3, "", { sizeOf: () => 30, max: 25 });
    expect(alone.orders.map((order) => order.orderId)).toEqual(placed.slice(0, 1));
    expect(alone.nextPageToken).not.toBe("");
  });

  it("pages with the token it issued, and answers INVALID_ARGUMENT to a token it could not have issued", async () => {
    const customerId = `customer-${randomUUID()}`;
    const older = newOrder(customerId, "first", [line("A", 1)]);
    const newer = newOrder(customerId, "second", [line("B", 1)]);
    await insertOrders(database.pool(), outbox, [older]);
    await insertOrders(database.pool(), outbox, [newer]);
    const first = await listOrders(database.pool(), customerId, 1, "", anySize);
    const second = await listOrders(database.pool(), customerId, 1, first.nextPageToken, anySize);
    expect([...first.orders, ...second.orders].map((order) => order.orderId)).toEqual([
      newer.order.orderId,
      older.order.orderId,
    ]);

    const forged = (cursor: unknown) => Buffer.from(JSON.stringify(cursor)).toString("base64url");
    for (const token of [
      "not a token",
      forged({ createdAt: "yesterday-ish", orderId: randomUUID() }),
      forged({ createdAt: "2026-13-45 10:00:00+00", orderId: randomUUID() }),
      forged({ createdAt: first.nextPageToken, orderId: "-".repeat(36) }),
    ]) {
      const answer = await listOrders(database.pool(), customerId, 1, token, anySize).catch((error: unknown) => error);
      expect(answer, token).toBeInstanceOf(OrderError);
      expect((answer as OrderError).reason).toBe("ORDER_INVALID_PAGE_TOKEN");
    }
  });
});

describe("applyTransitions", () => {
  it("keeps the payment id an earlier change of the batch named when a later one names none", async () => {
    const placed = newOrder("heidi", randomUUID(), [line("SKU-1", 1)]);
    await insertOrders(database.pool(), outbox, [placed]);
    const { orderId } = placed.order;
    await withTx(database.pool(), (tx) =>
      applyTransitions(
        tx,
        outbox,
        [
          { orderId, next: { status: "confirmed", reason: "", paymentId: "pay-1" } },
          { orderId, next: { status: "cancelled", reason: "cancelled by the customer", cause: "customer" } },
        ],
        [],
      ),
    );
    const { rows } = await database
      .pool()
      .query("SELECT status, payment_id, end_cause FROM orders WHERE order_id = $1", [orderId]);
    expect(rows).toEqual([{ status: "cancelled", payment_id: "pay-1", end_cause: "customer" }]);
    expect((await stored(orderId)).history.map((entry) => entry.status).sort()).toEqual([
      "cancelled",
      "confirmed",
      "pending",
    ]);
  });
});
