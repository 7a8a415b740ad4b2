import { describe, expect, it } from "vitest";
import { type CheckoutRequest, checkoutKey, forgetCheckoutKey, pendingPaymentToken } from "./checkout-attempt.js";

/** localStorage as every tab of the origin sees it. */
function sharedStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
    key: (index: number) => [...items.keys()][index] ?? null,
    get length() {
      return items.size;
    },
  };
}

function keys() {
  let made = 0;
  return () => `key-${++made}`;
}

const lamp = [{ sku: "SKU-1", quantity: 1 }];
const lampAndMug = [
  { sku: "SKU-1", quantity: 1 },
  { sku: "SKU-2", quantity: 1 },
];
const checkout = (items: CheckoutRequest["items"], paymentToken = "tok_visa", customerId = "alice") => ({
  items,
  paymentToken,
  customerId,
});

describe("the checkout's idempotency key", () => {
  it("is the same for the same order until it is answered, and new for another order", () => {
    const storage = sharedStorage();
    const newKey = keys();
    expect(checkoutKey(storage, checkout(lamp), newKey)).toBe("key-1");
    // Sent again after its answer was lost: the same key, so the same order.
    expect(checkoutKey(storage, checkout(lamp), newKey)).toBe("key-1");
    expect(checkoutKey(storage, checkout(lampAndMug), newKey)).toBe("key-2");
    expect(checkoutKey(storage, checkout(lamp, "tok_visa_slow"), newKey)).toBe("key-3");
    expect(checkoutKey(storage, checkout(lamp, "tok_visa", "bob"), newKey)).toBe("key-4");
    forgetCheckoutKey(storage, checkout(lampAndMug), "key-2");
    expect(checkoutKey(storage, checkout(lampAndMug), newKey)).toBe("key-5");
  });

  it("survives another tab's checkout of another cart, so the lost one is sent again under its key", () => {
    const storage = sharedStorage();
    const newKey = keys();
    // Tab A places the lamp; its answer is lost (the order may exist).
    expect(checkoutKey(storage, checkout(lamp), newKey)).toBe("key-1");
    // Tab B checks out another cart, and its answer is lost too.
    expect(checkoutKey(storage, checkout(lampAndMug), newKey)).toBe("key-2");
    // Back in tab A, the lamp alone again: the first order's key, not a second lamp order.
    expect(checkoutKey(storage, checkout(lamp), newKey)).toBe("key-1");
  });

  it("survives another tab's checkout by another customer", () => {
    const storage = sharedStorage();
    const newKey = keys();
    expect(checkoutKey(storage, checkout(lamp, "tok_visa", "alice"), newKey)).toBe("key-1");
    expect(checkoutKey(storage, checkout(lamp, "tok_visa", "bob"), newKey)).toBe("key-2");
    expect(checkoutKey(storage, checkout(lamp, "tok_visa", "alice"), newKey)).toBe("key-1");
  });

  it("is not forgotten when another tab's checkout is answered", () => {
    const storage = sharedStorage();
    const newKey = keys();
    // Tab A's checkout is sent; its answer is on its way, or lost.
    expect(checkoutKey(storage, checkout(lamp), newKey)).toBe("key-1");
    // Tab B's checkout of another cart is sent and answered.
    expect(checkoutKey(storage, checkout(lampAndMug), newKey)).toBe("key-2");
    forgetCheckoutKey(storage, checkout(lampAndMug), "key-2");
    // Tab A sends its checkout again: the same order, not a second one.
    expect(checkoutKey(storage, checkout(lamp), newKey)).toBe("key-1");
  });

  it("is forgotten only by the answer to that key", () => {
    const storage = sharedStorage();
    const newKey = keys();
    expect(checkoutKey(storage, checkout(lamp), newKey)).toBe("key-1");
    forgetCheckoutKey(storage, checkout(lamp), "key-0");
    expect(checkoutKey(storage, checkout(lamp), newKey)).toBe("key-1");
  });

  it("is forgotten a day after it was last sent: the same cart ordered again later is a new order", () => {
    const storage = sharedStorage();
    const newKey = keys();
    const day = 24 * 60 * 60 * 1000;
    expect(checkoutKey(storage, checkout(lamp), newKey, 0)).toBe("key-1");
    expect(checkoutKey(storage, checkout(lamp), newKey, day - 1)).toBe("key-1");
    expect(checkoutKey(storage, checkout(lamp), newKey, 2 * day - 2)).toBe("key-1");
    expect(checkoutKey(storage, checkout(lampAndMug), newKey, 3 * day)).toBe("key-2");
    expect(storage.length, "the stale slot is removed").toBe(1);
    expect(checkoutKey(storage, checkout(lamp), newKey, 3 * day)).toBe("key-3");
  });

  it("makes a new key when what is kept is unreadable", () => {
    const storage = sharedStorage();
    storage.setItem(`shopmesh.checkout.v2 ${JSON.stringify([lamp, "tok_visa", "alice"])}`, "{not json");
    expect(checkoutKey(storage, checkout(lamp), () => "fresh")).toBe("fresh");
  });

  it("keeps the key of a checkout an earlier build left pending", () => {
    const storage = sharedStorage();
    const fingerprint = JSON.stringify([lamp, "tok_visa_slow", "alice"]);
    storage.setItem(
      "shopmesh.checkout.v1",
      JSON.stringify({ fingerprint, key: "old-key", paymentToken: "tok_visa_slow" }),
    );
    expect(pendingPaymentToken(storage, { items: lamp, customerId: "alice" })).toBe("tok_visa_slow");
    expect(checkoutKey(storage, checkout(lamp, "tok_visa_slow"), keys())).toBe("old-key");
    expect(storage.getItem("shopmesh.checkout.v1")).toBeNull();
  });
});

describe("the payment token of a checkout not answered", () => {
  it("is kept with its key until the order is answered", () => {
    const storage = sharedStorage();
    const order = { items: lamp, customerId: "alice" };
    expect(pendingPaymentToken(storage, order)).toBeUndefined();
    checkoutKey(storage, checkout(lamp, "tok_visa_slow"), () => "key-1");
    expect(pendingPaymentToken(storage, order)).toBe("tok_visa_slow");
    forgetCheckoutKey(storage, checkout(lamp, "tok_visa_slow"), "key-1");
    expect(pendingPaymentToken(storage, order)).toBeUndefined();
  });

  it("is offered only for the same cart and customer, the latest sent first", () => {
    const storage = sharedStorage();
    checkoutKey(storage, checkout(lamp, "tok_visa_slow"), keys(), 1);
    checkoutKey(storage, checkout(lamp, "tok_transient_3"), keys(), 2);
    checkoutKey(storage, checkout(lampAndMug, "tok_declined"), keys(), 3);
    expect(pendingPaymentToken(storage, { items: lamp, customerId: "alice" }, 4)).toBe("tok_transient_3");
    expect(pendingPaymentToken(storage, { items: lampAndMug, customerId: "alice" }, 4)).toBe("tok_declined");
    expect(pendingPaymentToken(storage, { items: lamp, customerId: "bob" }, 4)).toBeUndefined();
  });
});
