/**
 * The idempotency key of the checkout in progress, kept beside the cart. A PlaceOrder
 * whose answer was lost may have placed the order: sent again with the same key — after
 * a reload, from the cart page and back, from another tab — it answers that order
 * instead of placing a second one. A new key is made only when what is ordered, how it
 * is paid or who orders changes, and the key is forgotten once an order is answered.
 */
const storageKey = "shopmesh.checkout.v1";

/**
 * The key for this checkout: the one kept for the same order, else a new one, kept
 * with the payment token it was sent with (see pendingPaymentToken).
 */
export function checkoutKey(
  storage: Pick<Storage, "getItem" | "setItem">,
  fingerprint: string,
  newKey: () => string,
  paymentToken: string,
): string {
  const kept = read(storage);
  if (kept?.fingerprint === fingerprint) return kept.key;
  const key = newKey();
  storage.setItem(storageKey, JSON.stringify({ fingerprint, key, paymentToken }));
  return key;
}

/**
 * The payment token of a checkout sent and not answered: the page offers it again, so
 * that Place order after a reload sends the same request under the same key — with
 * the page's default card it would be another request, another key, a second order.
 */
export function pendingPaymentToken(storage: Pick<Storage, "getItem">): string | undefined {
  return read(storage)?.paymentToken;
}

/** Forgets the key once its order was answered: the next checkout is another order. */
export function forgetCheckoutKey(storage: Pick<Storage, "removeItem">): void {
  storage.removeItem(storageKey);
}

function read(
  storage: Pick<Storage, "getItem">,
): { fingerprint: string; key: string; paymentToken?: string } | undefined {
  try {
    const kept: unknown = JSON.parse(storage.getItem(storageKey) ?? "null");
    const { fingerprint, key, paymentToken } = (kept ?? {}) as Record<string, unknown>;
    if (typeof fingerprint !== "string" || typeof key !== "string") return undefined;
    return typeof paymentToken === "string" ? { fingerprint, key, paymentToken } : { fingerprint, key };
  } catch {
    return undefined;
  }
}
