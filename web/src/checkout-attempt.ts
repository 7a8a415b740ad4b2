/**
 * The idempotency keys of checkouts in progress, kept beside the cart. A PlaceOrder
 * whose answer was lost may have placed the order: sent again with the same key — after
 * a reload, from the cart page and back, from another tab — it answers that order
 * instead of placing a second one. A new key is made only when what is ordered, how it
 * is paid or who orders changes, and a key is forgotten once its order is answered.
 *
 * Each checkout has a slot of its own in localStorage, named by what it sends: tabs
 * share localStorage, and one tab's checkout (another cart, card or customer) must
 * neither overwrite nor, once answered, forget another's pending key. Nothing is read
 * and written back whole, which a tab could do from a stale copy.
 */

/** What one checkout sends; a change to any of it is another order request, with another key. */
export interface CheckoutRequest {
  readonly items: readonly { readonly sku: string; readonly quantity: number }[];
  readonly paymentToken: string;
  readonly customerId: string | undefined;
}

/** The storage the keys are kept in: localStorage in the page. */
export type CheckoutStorage = Pick<Storage, "getItem" | "setItem" | "removeItem" | "key" | "length">;

const slotPrefix = "shopmesh.checkout.v2 ";
/** The single slot earlier builds kept, read once so that a checkout pending across an upgrade keeps its key. */
const legacySlot = "shopmesh.checkout.v1";
/**
 * A key unanswered for this long is forgotten: its answer was lost and the customer moved
 * on, and the same cart ordered again later is a new order, not the lost one answered.
 */
const keptForMs = 24 * 60 * 60 * 1000;

/** The key for this checkout: the one kept for the same request, else a new one. */
export function checkoutKey(
  storage: CheckoutStorage,
  request: CheckoutRequest,
  newKey: () => string,
  now = Date.now(),
): string {
  adoptLegacySlot(storage, now);
  const kept = keptCheckouts(storage);
  for (const { slot } of kept.filter(({ savedAt }) => !isFresh(savedAt, now))) storage.removeItem(slot);
  const slot = slotOf(request);
  const key = kept.find((checkout) => checkout.slot === slot && isFresh(checkout.savedAt, now))?.key ?? newKey();
  storage.setItem(slot, JSON.stringify({ key, savedAt: now }));
  return key;
}

/**
 * The payment token of a checkout of these items by this customer sent and not
 * answered: the page offers it again, so that Place order after a reload sends the same
 * request under the same key — with the page's default card it would be another
 * request, another key, a second order.
 */
export function pendingPaymentToken(
  storage: CheckoutStorage,
  order: Omit<CheckoutRequest, "paymentToken">,
  now = Date.now(),
): string | undefined {
  adoptLegacySlot(storage, now);
  const latest = keptCheckouts(storage)
    .filter(({ request, savedAt }) => isFresh(savedAt, now) && orderOf(request) === orderOf(order))
    .sort((a, b) => b.savedAt - a.savedAt)[0];
  return latest?.request.paymentToken;
}

/**
 * Forgets the key of an answered checkout: the next checkout of the same request is
 * another order. Only that key: the slot is left alone if it holds another by now.
 */
export function forgetCheckoutKey(storage: CheckoutStorage, request: CheckoutRequest, answeredKey: string): void {
  const slot = slotOf(request);
  if (readKept(storage.getItem(slot))?.key === answeredKey) storage.removeItem(slot);
}

/** The slot's name holds the request itself, so that a tab can tell which cart a pending key is for. */
function slotOf({ items, paymentToken, customerId }: CheckoutRequest): string {
  return slotPrefix + JSON.stringify([plainItems(items), paymentToken, customerId ?? null]);
}

/** What is ordered and by whom, whatever the card. */
function orderOf({ items, customerId }: Omit<CheckoutRequest, "paymentToken">): string {
  return JSON.stringify([plainItems(items), customerId ?? null]);
}

function plainItems(items: CheckoutRequest["items"]) {
  return items.map(({ sku, quantity }) => ({ sku, quantity }));
}

function isFresh(savedAt: number, now: number): boolean {
  return savedAt > now - keptForMs;
}

function requestOf(slot: string): CheckoutRequest | undefined {
  try {
    const [items, paymentToken, customerId]: unknown[] = JSON.parse(slot.slice(slotPrefix.length));
    if (!Array.isArray(items) || typeof paymentToken !== "string") return undefined;
    return { items, paymentToken, customerId: typeof customerId === "string" ? customerId : undefined };
  } catch {
    return undefined;
  }
}

function keptCheckouts(storage: CheckoutStorage) {
  const slots = Array.from({ length: storage.length }, (_, index) => storage.key(index)).filter(
    (slot): slot is string => slot?.startsWith(slotPrefix) ?? false,
  );
  return slots.flatMap((slot) => {
    const request = requestOf(slot);
    const kept = readKept(storage.getItem(slot));
    return request && kept ? [{ slot, request, ...kept }] : [];
  });
}

function readKept(value: string | null): { key: string; savedAt: number } | undefined {
  try {
    const { key, savedAt } = (JSON.parse(value ?? "null") ?? {}) as Record<string, unknown>;
    return typeof key === "string" && typeof savedAt === "number" ? { key, savedAt } : undefined;
  } catch {
    return undefined;
  }
}

/** Moves the earlier builds' slot (its fingerprint was this module's slot name without the prefix) into its own slot. */
function adoptLegacySlot(storage: CheckoutStorage, now: number): void {
  const legacy = storage.getItem(legacySlot);
  if (legacy === null) return;
  storage.removeItem(legacySlot);
  try {
    const { fingerprint, key } = (JSON.parse(legacy) ?? {}) as Record<string, unknown>;
    const slot = typeof fingerprint === "string" ? slotPrefix + fingerprint : "";
    if (typeof key === "string" && requestOf(slot) && storage.getItem(slot) === null) {
      storage.setItem(slot, JSON.stringify({ key, savedAt: now }));
    }
  } catch {
    // An unreadable slot held no key worth keeping.
  }
}
