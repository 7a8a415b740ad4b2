import { randomUUID } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  allEvents,
  createEventCatalog,
  createOutbox,
  ensureStreams,
  publishEvent,
  startConsumer,
} from "@shopmesh/events";
import {
  StockRejectedSchema,
  StockReleasedSchema,
  StockReservedSchema,
} from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
  OrderRejectedSchema,
} from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { waitFor } from "@shopmesh/testing";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createOrderEventsConsumer } from "../src/consumers.js";
import { createStockEvents } from "../src/stock-events.js";
import {
  addProducts,
  consumedThrough,
  orderEvents,
  publishAgain,
  reservationStatusOf,
  stockOf,
  streamEvents,
  useInventoryService,
} from "./harness.js";

const inventory = useInventoryService("order_events");

function orderPlaced(orderId: string, lines: Record<string, number>): MessageInitShape<typeof OrderPlacedSchema> {
  const unitPrice = { amountMinor: 1_000n, currencyCode: "USD" };
  const entries = Object.entries(lines);
  return {
    orderId,
    customerId: "customer-1",
    lines: entries.map(([sku, quantity]) => ({
      sku,
      name: `Product ${sku}`,
      quantity,
      unitPrice,
      lineTotal: { amountMinor: 1_000n * BigInt(quantity), currencyCode: "USD" },
    })),
    total: { amountMinor: 1_000n * BigInt(entries.reduce((sum, [, q]) => sum + q, 0)), currencyCode: "USD" },
    paymentToken: "tok_test_visa",
  };
}

const until = <T>(probe: () => Promise<T | undefined | false>, description: string) =>
  waitFor(probe, { description, intervalMs: 50 });

async function reservedEvent(orderId: string) {
  const [event] = await until(async () => {
    const events = await orderEvents(inventory, StockReservedSchema, orderId);
    return events.length > 0 && events;
  }, `StockReserved of ${orderId}`);
  return event;
}

/** The reason each dead-lettered ORDERS message (by its sequence) was dead-lettered for. */
async function deadLetterReasons(subject = inventory.catalog.route(OrderPlacedSchema).subject) {
  const deadLetters = inventory.catalog.deadLetterStream;
  const reasons = new Map<number, string>();
  for (let seq = 1; seq <= (await inventory.jsm.streams.info(deadLetters)).state.last_seq; seq++) {
    const letter = await inventory.jsm.streams.getMessage(deadLetters, { seq });
    if (letter === null) continue;
    expect(letter.subject).toBe(inventory.catalog.deadLetterSubject("inventory"));
    expect(letter.header.get("Shopmesh-Original-Subject")).toBe(subject);
    reasons.set(
      Number(letter.header.get("Shopmesh-Original-Sequence")),
      letter.header.get("Shopmesh-Dead-Letter-Reason"),
    );
  }
  return reasons;
}

describe("OrderPlaced", () => {
  it("reserves the order's items and announces StockReserved with the total and payment token", async () => {
    await addProducts(inventory, { "EV-A": 10, "EV-B": 5 });
    const orderId = randomUUID();
    await publishEvent(
      inventory.js,
      inventory.catalog,
      OrderPlacedSchema,
      orderPlaced(orderId, { "EV-B": 5, "EV-A": 2 }),
    );

    const event = await reservedEvent(orderId);
    expect(event?.items.map(({ sku, quantity }) => ({ sku, quantity }))).toEqual([
      { sku: "EV-A", quantity: 2 },
      { sku: "EV-B", quantity: 5 },
    ]);
    expect(event?.total).toMatchObject({ amountMinor: 7_000n, currencyCode: "USD" });
    expect(event?.paymentToken).toBe("tok_test_visa");
    expect(await stockOf(inventory, "EV-A")).toEqual({ available: 8, reserved: 2, sold: 0 });
    expect(await stockOf(inventory, "EV-B")).toEqual({ available: 0, reserved: 5, sold: 0 });
  });

  it("that cannot be met reserves nothing and announces StockRejected with the shortages", async () => {
    await addProducts(inventory, { "EV-SHORT": 1, "EV-PLENTY": 100 });
    const orderId = randomUUID();
    await publishEvent(
      inventory.js,
      inventory.catalog,
      OrderPlacedSchema,
      orderPlaced(orderId, { "EV-PLENTY": 3, "EV-SHORT": 2, "EV-GHOST": 1 }),
    );
    const [event] = await until(async () => {
      const events = await orderEvents(inventory, StockRejectedSchema, orderId);
      return events.length > 0 && events;
    }, `StockRejected of ${orderId}`);
    expect(event?.shortages.map(({ sku, requested, available }) => ({ sku, requested, available }))).toEqual([
      { sku: "EV-GHOST", requested: 1, available: 0n },
      { sku: "EV-SHORT", requested: 2, available: 1n },
    ]);
    expect(await stockOf(inventory, "EV-PLENTY")).toEqual({ available: 100, reserved: 0, sold: 0 });
    expect(await orderEvents(inventory, StockReservedSchema, orderId)).toEqual([]);
  });

  it("delivered twice (same event id, another message id) reserves once", async () => {
    await addProducts(inventory, { "EV-TWICE": 10 });
    const orderId = randomUUID();
    const { event } = await publishAgain(inventory, OrderPlacedSchema, orderPlaced(orderId, { "EV-TWICE": 3 }));
    const { seq } = await publishAgain(inventory, OrderPlacedSchema, event);
    await consumedThrough(inventory, seq);

    expect(await stockOf(inventory, "EV-TWICE")).toEqual({ available: 7, reserved: 3, sold: 0 });
    expect(await orderEvents(inventory, StockReservedSchema, orderId)).toHaveLength(1);
  });

  it("published again as a new event for the same order reserves once and announces nothing more", async () => {
    await addProducts(inventory, { "EV-REPUB": 10 });
    const orderId = randomUUID();
    await publishAgain(inventory, OrderPlacedSchema, orderPlaced(orderId, { "EV-REPUB": 4 }));
    await reservedEvent(orderId);
    const { seq } = await publishAgain(inventory, OrderPlacedSchema, orderPlaced(orderId, { "EV-REPUB": 4 }));
    await consumedThrough(inventory, seq);

    expect(await stockOf(inventory, "EV-REPUB")).toEqual({ available: 6, reserved: 4, sold: 0 });
    expect(await orderEvents(inventory, StockReservedSchema, orderId)).toHaveLength(1);
  });
});

describe("OrderPlaced under concurrency", () => {
  it("100 orders racing for 30 units through the consumer reserve exactly 30", async () => {
    await addProducts(inventory, { "EV-RUSH": 30, "EV-RUSH-SIDE": 1000 });
    const orderIds = Array.from({ length: 100 }, () => randomUUID());
    await Promise.all(
      orderIds.map((orderId, i) =>
        publishEvent(
          inventory.js,
          inventory.catalog,
          OrderPlacedSchema,
          orderPlaced(orderId, i % 2 === 0 ? { "EV-RUSH": 1, "EV-RUSH-SIDE": 2 } : { "EV-RUSH-SIDE": 2, "EV-RUSH": 1 }),
        ),
      ),
    );
    const decided = async () => {
      const { rows } = await inventory.pool.query<{ status: string; orders: number }>(
        "SELECT status, count(*)::int AS orders FROM reservations WHERE order_id = ANY ($1::uuid[]) GROUP BY status",
        [orderIds],
      );
      return Object.fromEntries(rows.map((row) => [row.status, row.orders]));
    };
    await until(async () => {
      const counts = await decided();
      return (counts.reserved ?? 0) + (counts.rejected ?? 0) === 100;
    }, "every order decided");

    expect(await decided()).toEqual({ reserved: 30, rejected: 70 });
    expect(await stockOf(inventory, "EV-RUSH")).toEqual({ available: 0, reserved: 30, sold: 0 });
    expect(await stockOf(inventory, "EV-RUSH-SIDE")).toEqual({ available: 940, reserved: 60, sold: 0 });
    const ours = new Set<string>(orderIds);
    const announced = await until(async () => {
      const reserved = (await streamEvents(inventory, StockReservedSchema)).filter((e) => ours.has(e.orderId));
      const rejected = (await streamEvents(inventory, StockRejectedSchema)).filter((e) => ours.has(e.orderId));
      return reserved.length + rejected.length === 100 && { reserved, rejected };
    }, "an event for every order");
    expect(announced.reserved).toHaveLength(30);
  });
});

/**
 * Runs `publish` while a test transaction holds the SKU's row: the consumer's batches
 * wait on it, the events published meanwhile pile up behind them, and once the
 * consumer has them all the row is let go and they are applied in a few batches.
 */
async function arrivingTogether(sku: string, publish: () => Promise<number>): Promise<number> {
  const blocker = await inventory.pool.connect();
  try {
    await blocker.query("BEGIN");
    await blocker.query("SELECT 1 FROM products WHERE sku = $1 FOR UPDATE", [sku]);
    const lastSeq = await publish();
    const stream = inventory.catalog.streamName("ORDERS");
    await until(
      async () => (await inventory.jsm.consumers.info(stream, "inventory")).delivered.stream_seq >= lastSeq,
      "every event delivered to the consumer",
    );
    return lastSeq;
  } finally {
    await blocker.query("ROLLBACK");
    blocker.release();
  }
}

describe("OrderPlaced events arriving together", () => {
  it("reserve exactly the available units of a scarce SKU, all or nothing, for the orders placed first", async () => {
    // Inventory's consumer has one lane: batches follow the stream, and a batch is
    // decided in placement order.
    await addProducts(inventory, { "EV-TOGETHER": 5, "EV-TOGETHER-SIDE": 100 });
    const placedAt = Date.now();
    const orderIds = Array.from({ length: 20 }, () => randomUUID());
    const lastSeq = await arrivingTogether("EV-TOGETHER", async () => {
      let seq = 0;
      for (const [i, orderId] of orderIds.entries()) {
        const lines: Record<string, number> =
          i === 2 ? { "EV-TOGETHER": 4, "EV-TOGETHER-SIDE": 1 } : { "EV-TOGETHER": 1 };
        const init = { ...orderPlaced(orderId, lines), occurTime: timestampFromMs(placedAt + i) };
        seq = (await publishAgain(inventory, OrderPlacedSchema, init)).seq;
      }
      return seq;
    });
    await consumedThrough(inventory, lastSeq);

    const statuses = await Promise.all(orderIds.map((orderId) => reservationStatusOf(inventory, orderId)));
    const reserved = new Set([0, 1, 3, 4, 5]);
    expect(statuses).toEqual(orderIds.map((_, i) => (reserved.has(i) ? "reserved" : "rejected")));
    expect(await stockOf(inventory, "EV-TOGETHER")).toEqual({ available: 0, reserved: 5, sold: 0 });
    expect(await stockOf(inventory, "EV-TOGETHER-SIDE")).toEqual({ available: 100, reserved: 0, sold: 0 });
    const [rejected] = await until(async () => {
      const events = await orderEvents(inventory, StockRejectedSchema, orderIds[2] as string);
      return events.length > 0 && events;
    }, "StockRejected of the order asking for 4");
    expect(rejected?.shortages.map(({ sku, requested, available }) => ({ sku, requested, available }))).toEqual([
      { sku: "EV-TOGETHER", requested: 4, available: 3n },
    ]);
  });

  it("with an invalid one among them still apply the others; the invalid ones are dead-lettered", async () => {
    await addProducts(inventory, { "EV-MIXED": 10 });
    const reservedBefore = randomUUID();
    await publishEvent(
      inventory.js,
      inventory.catalog,
      OrderPlacedSchema,
      orderPlaced(reservedBefore, { "EV-MIXED": 1 }),
    );
    await reservedEvent(reservedBefore);
    const valid = [randomUUID(), randomUUID(), randomUUID()];
    const published: Record<string, number> = {};
    const lastSeq = await arrivingTogether("EV-MIXED", async () => {
      const publish = async (name: string, init: MessageInitShape<typeof OrderPlacedSchema>) => {
        published[name] = (await publishAgain(inventory, OrderPlacedSchema, init)).seq;
      };
      await publish("valid-0", orderPlaced(valid[0] as string, { "EV-MIXED": 2 }));
      await publish("invalid sku", orderPlaced(randomUUID(), { "EV-MIXED": 1, "not a sku": 1 }));
      await publish("valid-1", orderPlaced(valid[1] as string, { "EV-MIXED": 2 }));
      await publish("other items", orderPlaced(reservedBefore, { "EV-MIXED": 3 }));
      await publish("valid-2", orderPlaced(valid[2] as string, { "EV-MIXED": 2 }));
      return published["valid-2"] as number;
    });
    await consumedThrough(inventory, lastSeq);

    for (const orderId of valid) expect(await reservationStatusOf(inventory, orderId)).toBe("reserved");
    expect(await stockOf(inventory, "EV-MIXED")).toEqual({ available: 3, reserved: 7, sold: 0 });
    const reasons = await deadLetterReasons();
    expect(reasons.get(published["invalid sku"] as number)).toMatch(/STOCK\.INVALID_REQUEST: invalid SKU "not a sku"/);
    expect(reasons.get(published["other items"] as number)).toMatch(/STOCK\.ORDER_MISMATCH/);
    expect(await orderEvents(inventory, StockReservedSchema, reservedBefore)).toHaveLength(1);
  });
});

describe("OrderPlaced events of a batch that failed", () => {
  it("are applied one by one in placement order, not order id order: scarce stock goes to the order placed first", async () => {
    await addProducts(inventory, { "EV-FAIR": 1 });
    const placedAt = Date.now();
    // Placed first, but its id sorts last; placed last, but its id sorts first.
    const early = `ffffffff-${randomUUID().slice(9)}`;
    const late = `00000000-${randomUUID().slice(9)}`;
    const lastSeq = await arrivingTogether("EV-FAIR", async () => {
      // Waits on the held row, so the events below form the next batch together.
      await publishAgain(inventory, OrderPlacedSchema, orderPlaced(randomUUID(), { "EV-FAIR": 5 }));
      await until(async () => {
        const { rowCount } = await inventory.pool.query(
          "SELECT 1 FROM pg_stat_activity WHERE application_name = 'inventory-consumers' AND wait_event_type = 'Lock'",
        );
        return rowCount === 1;
      }, "the first batch to wait on the held row");
      const at = (i: number) => ({ occurTime: timestampFromMs(placedAt + i) });
      await publishAgain(inventory, OrderPlacedSchema, { ...orderPlaced(early, { "EV-FAIR": 1 }), ...at(1) });
      await publishAgain(inventory, OrderPlacedSchema, { ...orderPlaced(randomUUID(), { "not a sku": 1 }), ...at(2) });
      return (await publishAgain(inventory, OrderPlacedSchema, { ...orderPlaced(late, { "EV-FAIR": 1 }), ...at(3) }))
        .seq;
    });
    await consumedThrough(inventory, lastSeq);

    expect(await reservationStatusOf(inventory, early)).toBe("reserved");
    expect(await reservationStatusOf(inventory, late)).toBe("rejected");
  });
});

describe("OrderConfirmed and OrderCancelled", () => {
  it("OrderConfirmed sells the reservation once", async () => {
    await addProducts(inventory, { "EV-SELL": 10 });
    const orderId = randomUUID();
    await publishEvent(inventory.js, inventory.catalog, OrderPlacedSchema, orderPlaced(orderId, { "EV-SELL": 4 }));
    await reservedEvent(orderId);
    const { event } = await publishAgain(inventory, OrderConfirmedSchema, { orderId, paymentId: "pay-1" });
    const { seq } = await publishAgain(inventory, OrderConfirmedSchema, event);
    await consumedThrough(inventory, seq);

    expect(await reservationStatusOf(inventory, orderId)).toBe("sold");
    expect(await stockOf(inventory, "EV-SELL")).toEqual({ available: 6, reserved: 0, sold: 4 });
  });

  it("OrderCancelled after OrderConfirmed puts the sold stock back on sale, once", async () => {
    await addProducts(inventory, { "EV-REFUND-A": 10, "EV-REFUND-B": 10 });
    const orderId = randomUUID();
    await publishEvent(
      inventory.js,
      inventory.catalog,
      OrderPlacedSchema,
      orderPlaced(orderId, { "EV-REFUND-A": 3, "EV-REFUND-B": 1 }),
    );
    await reservedEvent(orderId);
    await publishEvent(inventory.js, inventory.catalog, OrderConfirmedSchema, { orderId, paymentId: "pay-2" });
    await until(async () => (await reservationStatusOf(inventory, orderId)) === "sold", `order ${orderId} sold`);

    const cancelled = { orderId, reason: "customer changed their mind", byCustomer: true };
    const { event } = await publishAgain(inventory, OrderCancelledSchema, cancelled);
    await publishAgain(inventory, OrderCancelledSchema, event);
    const { seq } = await publishAgain(inventory, OrderCancelledSchema, cancelled);
    await consumedThrough(inventory, seq);

    expect(await stockOf(inventory, "EV-REFUND-A")).toEqual({ available: 10, reserved: 0, sold: 0 });
    expect(await stockOf(inventory, "EV-REFUND-B")).toEqual({ available: 10, reserved: 0, sold: 0 });
    const released = await until(async () => {
      const events = await orderEvents(inventory, StockReleasedSchema, orderId);
      return events.length > 0 && events;
    }, `StockReleased of ${orderId}`);
    expect(released).toHaveLength(1);
    expect(released[0]?.items.map(({ sku, quantity }) => ({ sku, quantity }))).toEqual([
      { sku: "EV-REFUND-A", quantity: 3 },
      { sku: "EV-REFUND-B", quantity: 1 },
    ]);
  });

  it("OrderCancelled before confirmation releases the reservation; a late OrderConfirmed changes nothing", async () => {
    await addProducts(inventory, { "EV-RELEASE": 10 });
    const orderId = randomUUID();
    await publishEvent(inventory.js, inventory.catalog, OrderPlacedSchema, orderPlaced(orderId, { "EV-RELEASE": 6 }));
    await reservedEvent(orderId);
    await publishAgain(inventory, OrderCancelledSchema, { orderId, reason: "payment declined" });
    const { seq } = await publishAgain(inventory, OrderConfirmedSchema, { orderId, paymentId: "pay-late" });
    await consumedThrough(inventory, seq);

    expect(await reservationStatusOf(inventory, orderId)).toBe("released");
    expect(await stockOf(inventory, "EV-RELEASE")).toEqual({ available: 10, reserved: 0, sold: 0 });
  });

  it("OrderCancelled before OrderPlaced: nothing is ever reserved, nothing announced", async () => {
    await addProducts(inventory, { "EV-EARLY": 10 });
    const orderId = randomUUID();
    await publishEvent(inventory.js, inventory.catalog, OrderCancelledSchema, { orderId, reason: "too slow" });
    await until(async () => (await reservationStatusOf(inventory, orderId)) === "released", "the tombstone");
    const { seq } = await publishAgain(inventory, OrderPlacedSchema, orderPlaced(orderId, { "EV-EARLY": 2 }));
    await consumedThrough(inventory, seq);

    expect(await stockOf(inventory, "EV-EARLY")).toEqual({ available: 10, reserved: 0, sold: 0 });
    expect(await orderEvents(inventory, StockReservedSchema, orderId)).toEqual([]);
    expect(await orderEvents(inventory, StockRejectedSchema, orderId)).toEqual([]);
    expect(await orderEvents(inventory, StockReleasedSchema, orderId)).toEqual([]);
  });

  it("OrderRejected changes nothing", async () => {
    await addProducts(inventory, { "EV-NOOP": 3 });
    const orderId = randomUUID();
    await publishEvent(inventory.js, inventory.catalog, OrderPlacedSchema, orderPlaced(orderId, { "EV-NOOP": 5 }));
    await until(async () => (await reservationStatusOf(inventory, orderId)) === "rejected", "the rejection");
    const { seq } = await publishAgain(inventory, OrderRejectedSchema, { orderId, reason: "out of stock: EV-NOOP" });
    await consumedThrough(inventory, seq);
    expect(await reservationStatusOf(inventory, orderId)).toBe("rejected");
    expect(await stockOf(inventory, "EV-NOOP")).toEqual({ available: 3, reserved: 0, sold: 0 });
  });
});

describe("an OrderConfirmed that overtakes its OrderPlaced", () => {
  it("waits for the reservation past the bounded attempts, then sells it; nothing is dead-lettered", async () => {
    // The service's consumer retries 100 ms … 5 s apart. One built from the same spec,
    // on streams of its own, retries 10 ms apart: past its attempts in moments.
    const own = createEventCatalog(allEvents, `${inventory.catalog.namespace}_EARLY`);
    await ensureStreams(inventory.jsm, own);
    const logger = pino({ level: "silent" });
    const maxAttempts = 3;
    const consumer = await startConsumer({
      ...createOrderEventsConsumer({ events: createStockEvents(createOutbox(own)), logger }),
      maxAttempts,
      retryDelaysMs: [10],
      js: inventory.js,
      jsm: inventory.jsm,
      pool: inventory.pool,
      logger,
      catalog: own,
    });
    try {
      await addProducts(inventory, { "EV-OVERTAKEN": 10 });
      const orderId = randomUUID();
      await publishEvent(inventory.js, own, OrderConfirmedSchema, { orderId, paymentId: "pay-early" });
      const deadLetters = async () => (await inventory.jsm.streams.info(own.deadLetterStream)).state.messages;
      const deliveries = async () =>
        (await inventory.jsm.consumers.info(own.streamName("ORDERS"), "inventory")).delivered.consumer_seq;
      await until(
        async () => (await deliveries()) > maxAttempts + 1 || (await deadLetters()) > 0,
        "the confirmation delivered past its attempts, or dead-lettered",
      );
      expect(await deadLetters()).toBe(0);

      await publishEvent(inventory.js, own, OrderPlacedSchema, orderPlaced(orderId, { "EV-OVERTAKEN": 2 }));
      await until(async () => (await reservationStatusOf(inventory, orderId)) === "sold", "the reservation sold");
      expect(await stockOf(inventory, "EV-OVERTAKEN")).toEqual({ available: 8, reserved: 0, sold: 2 });
      expect(await deadLetters()).toBe(0);
    } finally {
      await consumer.stop();
    }
  });
});

describe("an order id spelled in upper case (the uuid's other valid form)", () => {
  it("OrderConfirmed sells, and OrderCancelled after it puts the stock back, as for the id PostgreSQL answers", async () => {
    await addProducts(inventory, { "EV-CASE": 10 });
    const orderId = randomUUID();
    await publishEvent(inventory.js, inventory.catalog, OrderPlacedSchema, orderPlaced(orderId, { "EV-CASE": 3 }));
    await reservedEvent(orderId);
    const confirmed = await publishAgain(inventory, OrderConfirmedSchema, { orderId: orderId.toUpperCase() });
    await consumedThrough(inventory, confirmed.seq);
    expect(await stockOf(inventory, "EV-CASE")).toEqual({ available: 7, reserved: 0, sold: 3 });

    const cancelled = await publishAgain(inventory, OrderCancelledSchema, { orderId: orderId.toUpperCase() });
    await consumedThrough(inventory, cancelled.seq);
    expect(await stockOf(inventory, "EV-CASE")).toEqual({ available: 10, reserved: 0, sold: 0 });
  });

  it("OrderCancelled of a reserved order releases it", async () => {
    await addProducts(inventory, { "EV-CASE-R": 10 });
    const orderId = randomUUID();
    await publishEvent(inventory.js, inventory.catalog, OrderPlacedSchema, orderPlaced(orderId, { "EV-CASE-R": 4 }));
    await reservedEvent(orderId);
    const cancelled = await publishAgain(inventory, OrderCancelledSchema, { orderId: orderId.toUpperCase() });
    await consumedThrough(inventory, cancelled.seq);
    expect(await reservationStatusOf(inventory, orderId)).toBe("released");
    expect(await stockOf(inventory, "EV-CASE-R")).toEqual({ available: 10, reserved: 0, sold: 0 });
  });
});

describe("malformed events", () => {
  it("are dead-lettered while the next valid event is still applied", async () => {
    await addProducts(inventory, { "EV-AFTER": 10 });
    const subject = inventory.catalog.route(OrderPlacedSchema).subject;
    const garbage = await inventory.js.publish(subject, Buffer.from("this is not a protobuf message"), {
      msgID: randomUUID(),
    });
    const invalid = await publishAgain(inventory, OrderPlacedSchema, orderPlaced(randomUUID(), { "not a sku": 1 }));
    const orderId = randomUUID();
    await publishEvent(inventory.js, inventory.catalog, OrderPlacedSchema, orderPlaced(orderId, { "EV-AFTER": 1 }));

    await reservedEvent(orderId);
    expect(await stockOf(inventory, "EV-AFTER")).toEqual({ available: 9, reserved: 1, sold: 0 });
    await consumedThrough(inventory, invalid.seq);

    expect(inventory.catalog.deadLetterStream).toBe(`${inventory.catalog.namespace}_DEADLETTER`);
    const reasons = await deadLetterReasons(subject);
    expect(reasons.get(garbage.seq)).toBe("undecodable payload");
    expect(reasons.get(invalid.seq)).toMatch(/STOCK\.INVALID_REQUEST: invalid SKU "not a sku"/);
  });
});
