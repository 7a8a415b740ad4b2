import { describe, expect, it } from "vitest";
import {
  allocate,
  answerOf,
  countStock,
  decideCount,
  digestOf,
  type Movement,
  movements,
  normalizeItems,
  onOrderCancelled,
  onOrderConfirmed,
  onReleaseRequested,
  type ReservationStatus,
  repeatAnswer,
} from "./stock.js";

describe("movements", () => {
  it.each(Object.entries(movements))("%s conserves stock: its buckets sum to zero", (_, movement: Movement) => {
    expect(movement.available + movement.reserved + movement.sold).toBe(0);
  });
});

describe("order events on a reservation", () => {
  it("OrderConfirmed sells a reserved order once and ignores stale or finished ones", () => {
    expect(onOrderConfirmed("reserved")).toEqual({ kind: "move", movement: movements.sell, to: "sold" });
    for (const status of ["sold", "released", "rejected"] as const) {
      expect(onOrderConfirmed(status).kind).toBe("none");
    }
    expect(onOrderConfirmed(undefined)).toEqual({ kind: "missing" });
  });

  it("OrderCancelled releases reserved stock, restocks sold stock, and leaves a tombstone when it comes first", () => {
    expect(onOrderCancelled("reserved")).toEqual({ kind: "move", movement: movements.release, to: "released" });
    expect(onOrderCancelled("sold")).toEqual({ kind: "move", movement: movements.restock, to: "released" });
    expect(onOrderCancelled(undefined)).toEqual({ kind: "tombstone" });
    expect(onOrderCancelled("released").kind).toBe("none");
    expect(onOrderCancelled("rejected").kind).toBe("none");
  });

  it("ReleaseStock returns held units, but never a confirmed order's sold ones", () => {
    expect(onReleaseRequested("reserved")).toEqual({ kind: "move", movement: movements.release, to: "released" });
    expect(onReleaseRequested(undefined)).toEqual({ kind: "tombstone" });
    for (const status of ["sold", "released", "rejected"] as const) {
      expect(onReleaseRequested(status).kind).toBe("none");
    }
  });

  it("a repeated reservation answers the first outcome", () => {
    const shortages = [{ sku: "SKU-1", requested: 3, available: 1n }];
    expect(answerOf("reserved", [])).toEqual({ status: "reserved" });
    expect(answerOf("sold", [])).toEqual({ status: "reserved" });
    expect(answerOf("rejected", shortages)).toEqual({ status: "rejected", shortages });
    expect(answerOf("released", [])).toEqual({ status: "released" });
  });
});

describe("allocate", () => {
  it("takes every item of an order or none, serving orders in turn and never overselling", () => {
    const available = new Map([
      ["SKU-A", 3n],
      ["SKU-B", 10n],
    ]);
    const orders = [
      [{ sku: "SKU-A", quantity: 2 }],
      [
        { sku: "SKU-A", quantity: 2 },
        { sku: "SKU-B", quantity: 1 },
      ],
      [{ sku: "SKU-B", quantity: 4 }],
      [{ sku: "SKU-A", quantity: 1 }],
      [{ sku: "SKU-A", quantity: 1 }],
    ];
    expect(orders.map((items) => allocate(available, items))).toEqual([
      { status: "reserved" },
      { status: "rejected", shortages: [{ sku: "SKU-A", requested: 2, available: 1n }] },
      { status: "reserved" },
      { status: "reserved" },
      { status: "rejected", shortages: [{ sku: "SKU-A", requested: 1, available: 0n }] },
    ]);
    expect(available).toEqual(
      new Map([
        ["SKU-A", 0n],
        ["SKU-B", 6n],
      ]),
    );
  });

  it("gives an unknown SKU nothing available, and then takes nothing else", () => {
    const available = new Map([["SKU-A", 5n]]);
    const items = [
      { sku: "SKU-A", quantity: 1 },
      { sku: "SKU-GONE", quantity: 1 },
    ];
    expect(allocate(available, items)).toEqual({
      status: "rejected",
      shortages: [{ sku: "SKU-GONE", requested: 1, available: 0n }],
    });
    expect(available.get("SKU-A")).toBe(5n);
  });
});

describe("repeatAnswer", () => {
  const shortages = [{ sku: "SKU-1", requested: 3, available: 1n }];

  it("answers the first outcome to the same request, and released for a tombstone whatever is asked", () => {
    expect(repeatAnswer("o-1", { status: "rejected", announced: true, requestDigest: "d1", shortages }, "d1")).toEqual({
      status: "rejected",
      shortages,
    });
    expect(repeatAnswer("o-1", { status: "sold", announced: true, requestDigest: "d1", shortages: [] }, "d1")).toEqual({
      status: "reserved",
    });
    expect(
      repeatAnswer("o-1", { status: "released", announced: true, requestDigest: undefined, shortages: [] }, "d2"),
    ).toEqual({
      status: "released",
    });
  });

  it("refuses a request for other items than the first", () => {
    expect(() =>
      repeatAnswer("o-1", { status: "reserved", announced: true, requestDigest: "d1", shortages: [] }, "d2"),
    ).toThrow(expect.objectContaining({ code: "STOCK.ORDER_MISMATCH" }));
  });

  it("answers released for a released order whatever the items: nothing is reserved for it again", () => {
    expect(
      repeatAnswer("o-1", { status: "released", announced: true, requestDigest: "d1", shortages: [] }, "d2"),
    ).toEqual({ status: "released" });
  });
});

type SagaEvent = "placed" | "confirmed" | "cancelled";

/** Applies events in a given arrival order with the domain rules; a "missing" step is retried after the rest. */
function simulate(arrivals: readonly SagaEvent[], initial = 10, quantity = 3) {
  const stock = { available: initial, reserved: 0, sold: 0 };
  let status: ReservationStatus | undefined;
  let held = 0;
  const move = (movement: Movement) => {
    stock.available += movement.available * held;
    stock.reserved += movement.reserved * held;
    stock.sold += movement.sold * held;
  };
  const queue = [...arrivals];
  for (let steps = 0; queue.length > 0 && steps < 20; steps++) {
    const event = queue.shift() as SagaEvent;
    if (event === "placed") {
      if (status === undefined) {
        held = quantity;
        move(movements.reserve);
        status = "reserved";
      }
      continue;
    }
    const step = event === "confirmed" ? onOrderConfirmed(status) : onOrderCancelled(status);
    if (step.kind === "missing") queue.push(event);
    if (step.kind === "tombstone") status = "released";
    if (step.kind === "move") {
      move(step.movement);
      status = step.to;
    }
    expect(Math.min(stock.available, stock.reserved, stock.sold)).toBeGreaterThanOrEqual(0);
    expect(stock.available + stock.reserved + stock.sold).toBe(initial);
  }
  return { stock, status };
}

/** Every distinct order of arrival of `items`. */
function arrivalOrders<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  const all = items.flatMap((item, index) =>
    arrivalOrders([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]),
  );
  return [...new Map(all.map((order) => [JSON.stringify(order), order])).values()];
}

const named = (orders: SagaEvent[][]) => orders.map((order) => [order.join(" → "), order] as const);

describe("the reservation life cycle in any order of arrival", () => {
  it.each(named(arrivalOrders(["placed", "confirmed", "cancelled", "cancelled", "placed"])))(
    "%s ends with every unit back on sale",
    (_, arrivals) => {
      expect(simulate(arrivals).stock).toEqual({ available: 10, reserved: 0, sold: 0 });
    },
  );

  it.each(named(arrivalOrders(["placed", "confirmed", "placed", "confirmed"])))(
    "%s ends with the order's units sold once",
    (_, arrivals) => {
      expect(simulate(arrivals)).toEqual({ stock: { available: 7, reserved: 0, sold: 3 }, status: "sold" });
    },
  );
});

describe("normalizeItems", () => {
  it("sums repeated SKUs and sorts by SKU, the order rows are locked in", () => {
    expect(
      normalizeItems([
        { sku: "SKU-000010", quantity: 1 },
        { sku: "SKU-000002", quantity: 2 },
        { sku: "SKU-000010", quantity: 4 },
      ]),
    ).toEqual([
      { sku: "SKU-000002", quantity: 2 },
      { sku: "SKU-000010", quantity: 5 },
    ]);
  });

  const tooMany = Array.from({ length: 51 }, (_, i) => ({ sku: `SKU-${i}`, quantity: 1 }));
  it.each([
    ["no items", [], "at least one item"],
    ["a lower-case SKU", [{ sku: "sku-1", quantity: 1 }], "invalid SKU"],
    ["a zero quantity", [{ sku: "SKU-1", quantity: 0 }], "quantity"],
    ["more than 1000 units", [{ sku: "SKU-1", quantity: 1001 }], "quantity"],
    ["a fractional quantity", [{ sku: "SKU-1", quantity: 1.5 }], "quantity"],
    ["51 SKUs", tooMany, "at most 50"],
  ])("refuses %s", (_, items, message) => {
    expect(() => normalizeItems(items)).toThrow(expect.objectContaining({ code: "STOCK.INVALID_REQUEST" }));
    expect(() => normalizeItems(items)).toThrow(message);
  });
});

describe("digestOf", () => {
  it("is equal for the same items however they were listed, and differs for other quantities", () => {
    const a = digestOf(
      normalizeItems([
        { sku: "SKU-2", quantity: 1 },
        { sku: "SKU-1", quantity: 2 },
      ]),
    );
    const b = digestOf(
      normalizeItems([
        { sku: "SKU-1", quantity: 2 },
        { sku: "SKU-2", quantity: 1 },
      ]),
    );
    const c = digestOf(
      normalizeItems([
        { sku: "SKU-1", quantity: 3 },
        { sku: "SKU-2", quantity: 1 },
      ]),
    );
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });
});

describe("countStock", () => {
  const level = { sku: "SKU-1", available: 7n, reserved: 3n, onHandVersion: 4n };

  it("sets on hand, keeping what is reserved", () => {
    expect(countStock(level, 20n)).toMatchObject({ sku: "SKU-1", available: 17n, reserved: 3n });
    expect(countStock(level, 3n)).toMatchObject({ sku: "SKU-1", available: 0n, reserved: 3n });
  });

  it("refuses a count below what is reserved", () => {
    expect(() => countStock(level, 2n)).toThrow(expect.objectContaining({ code: "STOCK.BELOW_RESERVED" }));
  });
});

describe("decideCount", () => {
  // 10 on hand at version 7; the last count set 10, taken against 12 at version 6.
  const level = { sku: "SKU-1", available: 8n, reserved: 2n, onHandVersion: 7n };
  const last = { fromVersion: 6n, fromOnHand: 12n, onHand: 10n, version: 7n };
  const changed = expect.objectContaining({ code: "STOCK.CHANGED" });

  it("applies a count that expects nothing, or the stock as it is", () => {
    expect(decideCount(level, last, { onHand: 9n })).toBe("apply");
    expect(decideCount(level, last, { onHand: 9n, expectedVersion: 7n })).toBe("apply");
    expect(decideCount(level, undefined, { onHand: 9n, expectedOnHand: 10n })).toBe("apply");
  });

  it("answers the last count, sent again with nothing changed since, as done", () => {
    expect(decideCount(level, last, { onHand: 10n, expectedVersion: 6n })).toBe("done");
    expect(decideCount(level, last, { onHand: 10n, expectedOnHand: 12n })).toBe("done");
    expect(decideCount(level, last, { onHand: 10n, expectedVersion: 6n, expectedOnHand: 12n })).toBe("done");
  });

  it("does not take for the last count one that expects another stock by either measure", () => {
    // The last count's version, but not the on hand it was taken against: refused as it would have been.
    expect(() => decideCount(level, last, { onHand: 10n, expectedVersion: 6n, expectedOnHand: 11n })).toThrow(changed);
  });

  it("refuses a count taken against another stock, even one whose number came back", () => {
    expect(() => decideCount(level, last, { onHand: 9n, expectedVersion: 6n })).toThrow(changed);
    expect(() => decideCount(level, last, { onHand: 9n, expectedOnHand: 12n })).toThrow(changed);
    // The last count, sent again after on hand moved on (version 8), however many units.
    const since = { ...level, onHandVersion: 8n };
    expect(() => decideCount(since, last, { onHand: 10n, expectedVersion: 6n })).toThrow(changed);
    expect(() => decideCount(since, last, { onHand: 10n, expectedOnHand: 12n })).toThrow(changed);
    // A count whose number a sale happened to reach: not the last count, so refused.
    expect(() => decideCount(level, undefined, { onHand: 10n, expectedOnHand: 12n })).toThrow(changed);
  });
});
