import { describe, expect, it } from "vitest";
import { checkoutKey, forgetCheckoutKey, pendingPaymentToken } from "./checkout-attempt.js";

function memoryStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

describe("the checkout's idempotency key", () => {
  it("is the same for the same order until it is answered, and new for another order", () => {
    const storage = memoryStorage();
    let made = 0;
    const newKey = () => `key-${++made}`;
    expect(checkoutKey(storage, "cart A, tok_visa, alice", newKey, "tok_visa")).toBe("key-1");
    // Sent again after its answer was lost: the same key, so the same order.
    expect(checkoutKey(storage, "cart A, tok_visa, alice", newKey, "tok_visa")).toBe("key-1");
    expect(checkoutKey(storage, "cart B, tok_visa, alice", newKey, "tok_visa")).toBe("key-2");
    forgetCheckoutKey(storage);
    expect(checkoutKey(storage, "cart B, tok_visa, alice", newKey, "tok_visa")).toBe("key-3");
  });

  it("makes a new key when what is kept is unreadable", () => {
    const storage = memoryStorage();
    storage.setItem("shopmesh.checkout.v1", "{not json");
    expect(checkoutKey(storage, "cart", () => "fresh", "tok_visa")).toBe("fresh");
  });
});

describe("the payment token of a checkout not answered", () => {
  it("is kept with its key until the order is answered", () => {
    const storage = memoryStorage();
    expect(pendingPaymentToken(storage)).toBeUndefined();
    checkoutKey(storage, "cart A, tok_visa_slow, alice", () => "key-1", "tok_visa_slow");
    expect(pendingPaymentToken(storage)).toBe("tok_visa_slow");
    forgetCheckoutKey(storage);
    expect(pendingPaymentToken(storage)).toBeUndefined();
  });
});
