import { describe, expect, it } from "vitest";
import {
  addToCart,
  cartTotals,
  hasRoomFor,
  itemCount,
  loadCart,
  maxLines,
  removeLine,
  saveCart,
  setQuantity,
  withCurrentPrices,
  withoutOrdered,
} from "./cart.js";

const lamp = { sku: "SKU-1", name: "Lamp", unitPrice: { amountMinor: 1250n, currencyCode: "USD" } };
const mug = { sku: "SKU-2", name: "Mug", unitPrice: { amountMinor: 399n, currencyCode: "USD" } };

function memoryStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    items,
  };
}

describe("cart", () => {
  it("merges repeated adds of a SKU into one line and totals in minor units", () => {
    const cart = addToCart(addToCart(addToCart([], lamp), mug, 2), lamp, 3);
    expect(cart.map((line) => [line.sku, line.quantity])).toEqual([
      ["SKU-1", 4],
      ["SKU-2", 2],
    ]);
    expect(itemCount(cart)).toBe(6);
    expect(cartTotals(cart)).toEqual([{ currencyCode: "USD", amountMinor: 5798n }]);
  });

  it("keeps quantities within what an order line accepts, and removes a line set to zero", () => {
    const cart = addToCart([], lamp, 5000);
    expect(cart[0]?.quantity).toBe(1000);
    expect(setQuantity(cart, "SKU-1", 2.7)[0]?.quantity).toBe(2);
    expect(setQuantity(cart, "SKU-1", 0)).toEqual([]);
    expect(removeLine(addToCart(cart, mug), "SKU-1").map((line) => line.sku)).toEqual(["SKU-2"]);
  });

  it("holds as many products as one order may, and more units of those", () => {
    let cart = addToCart([], lamp);
    for (let n = 2; n <= maxLines + 5; n++) cart = addToCart(cart, { ...mug, sku: `SKU-${n}` });
    expect(cart).toHaveLength(maxLines);
    expect(hasRoomFor(cart, "SKU-999")).toBe(false);
    expect(hasRoomFor(cart, "SKU-1")).toBe(true);
    expect(addToCart(cart, lamp)[0]?.quantity).toBe(2);
  });

  it("survives a round trip through storage, bigints included", () => {
    const storage = memoryStorage();
    const cart = addToCart(addToCart([], lamp, 2), mug);
    saveCart(storage, cart);
    expect(loadCart(storage)).toEqual(cart);
  });

  it("reads a damaged or foreign stored cart as empty, keeping the lines that are whole", () => {
    const storage = memoryStorage();
    storage.setItem("shopmesh.cart.v1", "{not json");
    expect(loadCart(storage)).toEqual([]);
    storage.setItem(
      "shopmesh.cart.v1",
      JSON.stringify([
        { sku: "SKU-9" },
        { ...lamp, quantity: 1, unitPrice: { amountMinor: "1250", currencyCode: "USD" } },
      ]),
    );
    expect(loadCart(storage)).toEqual([{ ...lamp, quantity: 1 }]);
  });

  it("loses only the units ordered once an order is placed, keeping what was added meanwhile", () => {
    const ordered = [{ sku: "SKU-1", quantity: 2 }];
    // Another tab added a mug, and one more lamp, while the order of two lamps was placed.
    const now = addToCart(addToCart([], lamp, 3), mug);
    expect(withoutOrdered(now, ordered).map((line) => [line.sku, line.quantity])).toEqual([
      ["SKU-1", 1],
      ["SKU-2", 1],
    ]);
    expect(withoutOrdered(addToCart([], lamp, 2), ordered)).toEqual([]);
  });

  it("takes the catalog's current name and price of the lines it describes", () => {
    const cart = addToCart(addToCart([], lamp, 2), mug);
    const dearer = { ...lamp, name: "Desk Lamp", unitPrice: { amountMinor: 1500n, currencyCode: "USD" } };
    const updated = withCurrentPrices(cart, new Map([[lamp.sku, dearer]]));
    expect(updated.map((line) => [line.name, line.unitPrice.amountMinor, line.quantity])).toEqual([
      ["Desk Lamp", 1500n, 2],
      ["Mug", 399n, 1],
    ]);
  });
});
