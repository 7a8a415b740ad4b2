import { randomUUID } from "node:crypto";
import { createEventCatalog, createOutbox } from "@shopmesh/events";
import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { describe, expect, it } from "vitest";
import { useOrderDatabase } from "../test/order-database.js";
import { startStubInventory } from "../test/stub-inventory.js";
import { type CatalogEntry, type CatalogPort, createCatalogClient } from "./catalog-client.js";
import { OrderError } from "./errors.js";
import { createOrderInserter } from "./order-store.js";
import { type PlaceOrderCommand, type PlaceOrderDeps, placeOrder } from "./place-order.js";

const database = useOrderDatabase("place order");

/** A catalog that prices every SKU at 5.00 USD (or `priceMinor`) until it is taken down, then is unavailable. */
function switchableCatalog(priceMinor = 500n) {
  let up = true;
  const catalog: CatalogPort = {
    async lookup(skus) {
      if (!up) throw new OrderError("ORDER_INVENTORY_UNAVAILABLE", "the catalog is unavailable; try again shortly");
      const entry: CatalogEntry = { name: "Product", priceMinor, currency: "USD", available: 10n };
      return new Map(skus.map((sku) => [sku, entry]));
    },
    close() {},
  };
  return {
    catalog,
    takeDown: () => {
      up = false;
    },
  };
}

function depsWith(catalog: CatalogPort): PlaceOrderDeps {
  const outbox = createOutbox(createEventCatalog([OrderPlacedSchema]));
  const pool = database.pool();
  return { pool, insertOrder: createOrderInserter(pool, outbox), outbox, catalog, catalogTimeoutMs: 1_000 };
}

describe("PlaceOrder repeated with its idempotency key", () => {
  const command = (): PlaceOrderCommand => ({
    customerId: `customer-${randomUUID()}`,
    idempotencyKey: randomUUID(),
    items: [{ sku: "SKU-000001", quantity: 2 }],
    paymentToken: "tok_visa",
  });

  it("answers the order it created even when the catalog cannot price the items any more", async () => {
    const { catalog, takeDown } = switchableCatalog();
    const deps = depsWith(catalog);
    const placed = command();
    const first = await placeOrder(deps, placed);
    takeDown();
    const retried = await placeOrder(deps, placed);
    expect(retried.orderId).toBe(first.orderId);
    expect(retried.totalMinor).toBe(1_000n);
  });

  it("still refuses another request with that key, and fails a new order while the catalog is down", async () => {
    const { catalog, takeDown } = switchableCatalog();
    const deps = depsWith(catalog);
    const placed = command();
    await placeOrder(deps, placed);
    takeDown();
    const reused = await placeOrder(deps, { ...placed, items: [{ sku: "SKU-000002", quantity: 1 }] }).catch(
      (error: unknown) => error,
    );
    expect((reused as OrderError).reason).toBe("ORDER_IDEMPOTENCY_KEY_REUSED");
    const fresh = await placeOrder(deps, command()).catch((error: unknown) => error);
    expect((fresh as OrderError).reason).toBe("ORDER_INVENTORY_UNAVAILABLE");
  });
});

describe("PlaceOrder of items whose total a Money cannot hold", () => {
  it("is refused with ORDER_TOTAL_TOO_LARGE, and nothing is written; the largest total is placed", async () => {
    const largestPrice = 100_000_000_000n; // money.proto's bound, for one unit
    const deps = depsWith(switchableCatalog(largestPrice).catalog);
    const customerId = `customer-${randomUUID()}`;
    const order = (quantity: number): PlaceOrderCommand => ({
      customerId,
      idempotencyKey: randomUUID(),
      items: [{ sku: "SKU-000001", quantity }],
      paymentToken: "tok_visa",
    });
    const tooLarge = await placeOrder(deps, order(2)).catch((error: unknown) => error);
    expect((tooLarge as OrderError).reason).toBe("ORDER_TOTAL_TOO_LARGE");
    const { rows } = await deps.pool.query("SELECT count(*)::int AS n FROM orders WHERE customer_id = $1", [
      customerId,
    ]);
    expect(rows[0].n).toBe(0);
    expect((await placeOrder(deps, order(1))).totalMinor).toBe(largestPrice);
  });
});

describe("PlaceOrder retried while inventory fails with another code than UNAVAILABLE", () => {
  it("answers the order the key created, as it does while inventory is unavailable", async () => {
    // Inventory's own fault (a bug): its error interceptor answers INTERNAL, which the
    // catalog client passes on as it is.
    let failing = false;
    const inventory = await startStubInventory(async () => {
      if (failing) throw new Error("a fault of inventory's own");
    });
    const catalog = createCatalogClient(inventory.target, 0);
    try {
      const deps = depsWith(catalog);
      const command: PlaceOrderCommand = {
        customerId: `customer-${randomUUID()}`,
        idempotencyKey: randomUUID(),
        items: [{ sku: "SKU-000001", quantity: 1 }],
        paymentToken: "tok_visa",
      };
      const first = await placeOrder(deps, command);
      // The answer was lost; the client sends the call again with its key.
      failing = true;
      const retried = await placeOrder(deps, command).catch((error: unknown) => error);
      expect(retried).toMatchObject({ orderId: first.orderId });
    } finally {
      catalog.close();
      await inventory.close();
    }
  });
});
