import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { publishEvent } from "@shopmesh/events";
import { ReservationStatus, StockService } from "@shopmesh/gen/shopmesh/inventory/v1/stock_service_pb.js";
import { OrderCancelledSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { withTx } from "@shopmesh/pg";
import { createGrpcClient } from "@shopmesh/server";
import { waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { sellReservedStocks } from "../src/sell-stock.js";
import { addProducts, reservationStatusOf, stockOf, useInventoryService } from "./harness.js";

const inventory = useInventoryService("stock");

async function codeOf(call: Promise<unknown>): Promise<Code | undefined> {
  return call.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error).code,
  );
}

async function outboxTypes(orderId: string): Promise<string[]> {
  const { rows } = await inventory.pool.query<{ event_type: string; payload: Buffer }>(
    "SELECT event_type, payload FROM outbox ORDER BY id",
  );
  return rows.filter((row) => row.payload.includes(Buffer.from(orderId))).map((row) => row.event_type);
}

describe("the catalog at start", () => {
  it("is not seeded unless SEED_CATALOG is set", async () => {
    expect(await codeOf(inventory.catalogClient.getProduct({ sku: "SKU-000001" }))).toBe(Code.NotFound);
  });
});

describe("StockService access", () => {
  it("serves a service token, refuses a customer token with PERMISSION_DENIED and no token with UNAUTHENTICATED", async () => {
    await addProducts(inventory, { "AUTH-1": 5 });
    const setStock = { sku: "AUTH-1", onHand: 7n };
    await expect(inventory.stockClient.setStock(setStock)).resolves.toMatchObject({ stock: { onHand: 7n } });

    const customer = await inventory.token("customer", "customer-1");
    const asCustomer = createGrpcClient(StockService, {
      target: inventory.grpcTarget,
      headers: () => ({ authorization: `Bearer ${customer}` }),
    });
    const anonymous = createGrpcClient(StockService, { target: inventory.grpcTarget });
    try {
      expect(await codeOf(asCustomer.setStock(setStock))).toBe(Code.PermissionDenied);
      expect(await codeOf(asCustomer.getStock({ sku: "AUTH-1" }))).toBe(Code.PermissionDenied);
      expect(
        await codeOf(asCustomer.reserveStock({ orderId: randomUUID(), items: [{ sku: "AUTH-1", quantity: 1 }] })),
      ).toBe(Code.PermissionDenied);
      expect(await codeOf(anonymous.releaseStock({ orderId: randomUUID() }))).toBe(Code.Unauthenticated);
      expect(await codeOf(anonymous.setStock(setStock))).toBe(Code.Unauthenticated);
    } finally {
      asCustomer.close();
      anonymous.close();
    }
    expect(await stockOf(inventory, "AUTH-1")).toEqual({ available: 7, reserved: 0, sold: 0 });
  });
});

describe("ReserveStock", () => {
  it("reserves every item, or none and answers the shortages (an unknown SKU has 0 available)", async () => {
    await addProducts(inventory, { "RES-A": 10, "RES-B": 2 });
    const short = await inventory.stockClient.reserveStock({
      orderId: randomUUID(),
      items: [
        { sku: "RES-A", quantity: 4 },
        { sku: "RES-B", quantity: 3 },
        { sku: "RES-UNKNOWN", quantity: 1 },
      ],
    });
    expect(short.status).toBe(ReservationStatus.REJECTED);
    expect(short.shortages.map(({ sku, requested, available }) => ({ sku, requested, available }))).toEqual([
      { sku: "RES-B", requested: 3, available: 2n },
      { sku: "RES-UNKNOWN", requested: 1, available: 0n },
    ]);
    expect(await stockOf(inventory, "RES-A")).toEqual({ available: 10, reserved: 0, sold: 0 });

    const orderId = randomUUID();
    const reserved = await inventory.stockClient.reserveStock({
      orderId,
      items: [
        { sku: "RES-B", quantity: 2 },
        { sku: "RES-A", quantity: 4 },
      ],
    });
    expect(reserved).toMatchObject({ status: ReservationStatus.RESERVED, shortages: [] });
    expect(await stockOf(inventory, "RES-A")).toEqual({ available: 6, reserved: 4, sold: 0 });
    expect(await stockOf(inventory, "RES-B")).toEqual({ available: 0, reserved: 2, sold: 0 });
    const { product } = await inventory.catalogClient.getProduct({ sku: "RES-A" });
    expect(product?.available).toBe(6n);
  });

  it("answers a repeat with the first outcome, and refuses a repeat asking for other items", async () => {
    await addProducts(inventory, { "IDEM-A": 5 });
    const orderId = randomUUID();
    const request = { orderId, items: [{ sku: "IDEM-A", quantity: 3 }] };
    const answers = [
      await inventory.stockClient.reserveStock(request),
      await inventory.stockClient.reserveStock(request),
    ];
    expect(answers.map((a) => a.status)).toEqual([ReservationStatus.RESERVED, ReservationStatus.RESERVED]);
    expect(await stockOf(inventory, "IDEM-A")).toEqual({ available: 2, reserved: 3, sold: 0 });

    const rejectedOrder = { orderId: randomUUID(), items: [{ sku: "IDEM-A", quantity: 4 }] };
    const first = await inventory.stockClient.reserveStock(rejectedOrder);
    expect(first.status).toBe(ReservationStatus.REJECTED);
    await inventory.stockClient.setStock({ sku: "IDEM-A", onHand: 100n });
    const repeat = await inventory.stockClient.reserveStock(rejectedOrder);
    expect(repeat.status).toBe(ReservationStatus.REJECTED);
    expect(repeat.shortages[0]).toMatchObject({ sku: "IDEM-A", requested: 4, available: 2n });

    const otherItems = inventory.stockClient.reserveStock({ orderId, items: [{ sku: "IDEM-A", quantity: 1 }] });
    expect(await codeOf(otherItems)).toBe(Code.AlreadyExists);
    expect(await stockOf(inventory, "IDEM-A")).toEqual({ available: 97, reserved: 3, sold: 0 });
  });

  it("announces nothing: StockReserved makes payment charge, and only OrderPlaced carries what to charge", async () => {
    await addProducts(inventory, { "QUIET-A": 5 });
    const orderId = randomUUID();
    await inventory.stockClient.reserveStock({ orderId, items: [{ sku: "QUIET-A", quantity: 1 }] });
    expect(await reservationStatusOf(inventory, orderId)).toBe("reserved");
    expect(await outboxTypes(orderId)).toEqual([]);
  });

  it("sells exactly the last 50 units to 200 concurrent orders: never negative, stock conserved", async () => {
    const sides = ["RACE-SIDE-1", "RACE-SIDE-2", "RACE-SIDE-3", "RACE-SIDE-4"];
    await addProducts(inventory, { "RACE-HOT": 50, ...Object.fromEntries(sides.map((sku) => [sku, 1000])) });
    const orders = Array.from({ length: 200 }, (_, i) => {
      const hot = { sku: "RACE-HOT", quantity: 1 };
      const side = { sku: sides[i % sides.length] as string, quantity: 1 + (i % 3) };
      return { orderId: randomUUID(), items: i % 2 === 0 ? [hot, side] : [side, hot] };
    });

    const answers = await Promise.all(orders.map((order) => inventory.stockClient.reserveStock(order)));

    const reserved = orders.filter((_, i) => answers[i]?.status === ReservationStatus.RESERVED);
    expect(reserved).toHaveLength(50);
    expect(answers.filter((a) => a.status === ReservationStatus.REJECTED)).toHaveLength(150);
    for (const answer of answers.filter((a) => a.status === ReservationStatus.REJECTED)) {
      expect(answer.shortages.map((s) => s.sku)).toEqual(["RACE-HOT"]);
    }
    expect(await stockOf(inventory, "RACE-HOT")).toEqual({ available: 0, reserved: 50, sold: 0 });
    for (const sku of sides) {
      const held = reserved.flatMap((o) => o.items).filter((item) => item.sku === sku);
      const stock = await stockOf(inventory, sku);
      expect(stock.reserved).toBe(held.reduce((sum, item) => sum + item.quantity, 0));
      expect(stock.available + stock.reserved + stock.sold).toBe(1000);
    }
    const { rows } = await inventory.pool.query<{ sku: string; reserved: string; held: string }>(
      `SELECT p.sku, p.reserved,
              (SELECT coalesce(sum(i.quantity), 0) FROM reservation_items i JOIN reservations r USING (order_id)
                WHERE i.sku = p.sku AND r.status = 'reserved') AS held
         FROM products p WHERE p.sku LIKE 'RACE-%'`,
    );
    expect(rows).toHaveLength(5);
    for (const row of rows) expect(row.held, row.sku).toBe(row.reserved);
  });
});

describe("ReleaseStock", () => {
  it("puts a reservation back on sale once", async () => {
    await addProducts(inventory, { "REL-A": 10, "REL-B": 10 });
    const orderId = randomUUID();
    await inventory.stockClient.reserveStock({
      orderId,
      items: [
        { sku: "REL-A", quantity: 2 },
        { sku: "REL-B", quantity: 5 },
      ],
    });
    const first = await inventory.stockClient.releaseStock({ orderId });
    expect(first.released.map(({ sku, quantity }) => ({ sku, quantity }))).toEqual([
      { sku: "REL-A", quantity: 2 },
      { sku: "REL-B", quantity: 5 },
    ]);
    expect((await inventory.stockClient.releaseStock({ orderId })).released).toEqual([]);
    expect(await stockOf(inventory, "REL-A")).toEqual({ available: 10, reserved: 0, sold: 0 });
    expect(await stockOf(inventory, "REL-B")).toEqual({ available: 10, reserved: 0, sold: 0 });
    expect(await outboxTypes(orderId)).toEqual(["shopmesh.inventory.v1.StockReleased"]);

    const again = await inventory.stockClient.reserveStock({
      orderId,
      items: [
        { sku: "REL-A", quantity: 2 },
        { sku: "REL-B", quantity: 5 },
      ],
    });
    expect(again.status).toBe(ReservationStatus.RELEASED);
  });

  it("of an order with no reservation leaves a tombstone: a later reservation answers RELEASED and holds nothing", async () => {
    await addProducts(inventory, { "TOMB-A": 10 });
    const orderId = randomUUID();
    expect((await inventory.stockClient.releaseStock({ orderId })).released).toEqual([]);
    expect(await reservationStatusOf(inventory, orderId)).toBe("released");
    const late = await inventory.stockClient.reserveStock({ orderId, items: [{ sku: "TOMB-A", quantity: 3 }] });
    expect(late.status).toBe(ReservationStatus.RELEASED);
    expect(await stockOf(inventory, "TOMB-A")).toEqual({ available: 10, reserved: 0, sold: 0 });
    expect(await outboxTypes(orderId)).toEqual([]);
  });
  it("takes an order id in upper case as the same order", async () => {
    await addProducts(inventory, { "UC-A": 10 });
    const orderId = randomUUID();
    const reserved = await inventory.stockClient.reserveStock({
      orderId: orderId.toUpperCase(),
      items: [{ sku: "UC-A", quantity: 3 }],
    });
    expect(reserved.status).toBe(ReservationStatus.RESERVED);
    const released = await inventory.stockClient.releaseStock({ orderId: orderId.toUpperCase() });
    expect(released.released.map(({ sku, quantity }) => ({ sku, quantity }))).toEqual([{ sku: "UC-A", quantity: 3 }]);
    expect(await stockOf(inventory, "UC-A")).toEqual({ available: 10, reserved: 0, sold: 0 });
    expect(await reservationStatusOf(inventory, orderId)).toBe("released");
  });

  it("of a confirmed order releases nothing: its units stay sold", async () => {
    await addProducts(inventory, { "SOLD-A": 10 });
    const orderId = randomUUID();
    await inventory.stockClient.reserveStock({ orderId, items: [{ sku: "SOLD-A", quantity: 4 }] });
    await withTx(inventory.pool, (tx) => sellReservedStocks(tx, [orderId]));
    expect((await inventory.stockClient.releaseStock({ orderId })).released).toEqual([]);
    expect(await stockOf(inventory, "SOLD-A")).toEqual({ available: 6, reserved: 0, sold: 4 });
    expect(await reservationStatusOf(inventory, orderId)).toBe("sold");
    expect(await outboxTypes(orderId)).toEqual([]);
  });
});

describe("SetStock", () => {
  it("sets on hand, keeping reservations; refuses less than reserved and unknown SKUs", async () => {
    await addProducts(inventory, { "COUNT-A": 10 });
    await inventory.stockClient.reserveStock({ orderId: randomUUID(), items: [{ sku: "COUNT-A", quantity: 4 }] });

    const { stock } = await inventory.stockClient.setStock({ sku: "COUNT-A", onHand: 25n });
    expect(stock).toMatchObject({ sku: "COUNT-A", onHand: 25n, reserved: 4n, available: 21n });
    expect(await stockOf(inventory, "COUNT-A")).toEqual({ available: 21, reserved: 4, sold: 0 });

    expect(await codeOf(inventory.stockClient.setStock({ sku: "COUNT-A", onHand: 3n }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(inventory.stockClient.setStock({ sku: "COUNT-NONE", onHand: 3n }))).toBe(Code.NotFound);
    expect(await codeOf(inventory.stockClient.setStock({ sku: "COUNT-A", onHand: -1n }))).toBe(Code.InvalidArgument);
    expect(await stockOf(inventory, "COUNT-A")).toEqual({ available: 21, reserved: 4, sold: 0 });
  });

  it("with expected_on_hand, refuses a count overtaken by a sale with ABORTED, and answers a repeat as done", async () => {
    await addProducts(inventory, { "COUNT-B": 10 });
    const read = await inventory.stockClient.getStock({ sku: "COUNT-B" });
    expect(read.stock).toMatchObject({ sku: "COUNT-B", onHand: 10n, reserved: 0n, available: 10n });

    // Between the read and the count, an order is placed and confirmed: on hand is 8.
    const orderId = randomUUID();
    await inventory.stockClient.reserveStock({ orderId, items: [{ sku: "COUNT-B", quantity: 2 }] });
    await withTx(inventory.pool, (tx) => sellReservedStocks(tx, [orderId]));
    const count = { sku: "COUNT-B", onHand: 12n, expectedOnHand: read.stock?.onHand };
    expect(await codeOf(inventory.stockClient.setStock(count))).toBe(Code.Aborted);
    expect(await stockOf(inventory, "COUNT-B")).toEqual({ available: 8, reserved: 0, sold: 2 });

    // Read again, counted again: applied; sent again after a lost answer: answered as done.
    const again = {
      ...count,
      expectedOnHand: (await inventory.stockClient.getStock({ sku: "COUNT-B" })).stock?.onHand,
    };
    expect((await inventory.stockClient.setStock(again)).stock).toMatchObject({ onHand: 12n, available: 12n });
    expect((await inventory.stockClient.setStock(again)).stock).toMatchObject({ onHand: 12n, available: 12n });
    expect(await codeOf(inventory.stockClient.getStock({ sku: "COUNT-NONE" }))).toBe(Code.NotFound);
  });

  it("refuses a count taken against 10 when a sale brought on hand to the very number counted", async () => {
    await addProducts(inventory, { "COUNT-ABA": 10 });
    // The operator reads 10 on hand and counts the shelf: 8 (two units are missing).
    const read = await inventory.stockClient.getStock({ sku: "COUNT-ABA" });
    // Meanwhile an order buys 2: on hand is 8 in the database, and 6 on the shelf.
    const orderId = randomUUID();
    await inventory.stockClient.reserveStock({ orderId, items: [{ sku: "COUNT-ABA", quantity: 2 }] });
    await withTx(inventory.pool, (tx) => sellReservedStocks(tx, [orderId]));
    // Not "a count already in effect": the database would keep 8 where the shelf holds 6.
    for (const expected of [
      { expectedOnHand: read.stock?.onHand },
      { expectedOnHandVersion: read.stock?.onHandVersion },
    ]) {
      expect(await codeOf(inventory.stockClient.setStock({ sku: "COUNT-ABA", onHand: 8n, ...expected }))).toBe(
        Code.Aborted,
      );
    }
    expect(await stockOf(inventory, "COUNT-ABA")).toEqual({ available: 8, reserved: 0, sold: 2 });
  });

  it("with expected_on_hand_version, does not apply a count sent again after a sale's units came back", async () => {
    await addProducts(inventory, { "COUNT-RETRY": 10 });
    const before = (await inventory.stockClient.getStock({ sku: "COUNT-RETRY" })).stock;
    const orderId = randomUUID();
    await inventory.stockClient.reserveStock({ orderId, items: [{ sku: "COUNT-RETRY", quantity: 2 }] });
    const reserved = (await inventory.stockClient.getStock({ sku: "COUNT-RETRY" })).stock;
    await withTx(inventory.pool, (tx) => sellReservedStocks(tx, [orderId]));
    const sold = (await inventory.stockClient.getStock({ sku: "COUNT-RETRY" })).stock;
    // A reservation leaves on hand, and its version, as they were; a sale moves both.
    expect(reserved?.onHandVersion).toBe(before?.onHandVersion);
    expect(sold?.onHandVersion).not.toBe(reserved?.onHandVersion);
    // The operator counts 6 against 8; the count is applied, but its answer is lost.
    const count = { sku: "COUNT-RETRY", onHand: 6n, expectedOnHandVersion: sold?.onHandVersion };
    const applied = (await inventory.stockClient.setStock(count)).stock;
    expect(applied).toMatchObject({ onHand: 6n });
    expect(applied?.onHandVersion).not.toBe(sold?.onHandVersion);
    // Sent again at once: done, nothing changes.
    expect((await inventory.stockClient.setStock(count)).stock).toEqual(applied);
    // The order is cancelled: its 2 units come back on sale, on hand is 8 again.
    await publishEvent(inventory.js, inventory.catalog, OrderCancelledSchema, { orderId, reason: "changed my mind" });
    await waitFor(async () => (await reservationStatusOf(inventory, orderId)) === "released", {
      description: "the cancelled order's units back on sale",
    });
    // Sent again now, the count is refused: the 2 returned units stay on sale.
    expect(await codeOf(inventory.stockClient.setStock(count))).toBe(Code.Aborted);
    expect(await stockOf(inventory, "COUNT-RETRY")).toEqual({ available: 8, reserved: 0, sold: 0 });
  });
});
