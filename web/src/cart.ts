import type { Amount } from "./money.js";

/** One line of the cart. Name and price are for display; the order service prices the order. */
export interface CartLine {
  readonly sku: string;
  readonly name: string;
  readonly unitPrice: Amount;
  readonly quantity: number;
}

/** The cart: at most one line per SKU, in the order products were added. */
export type Cart = readonly CartLine[];

/** The most units of one SKU an order line may carry (the contract allows 1000). */
export const maxQuantity = 1000;

/** The most products one order may hold (the contract allows 50 lines). */
export const maxLines = 50;

/** Whether a product can go in the cart: it is there already, or there is room for another line. */
export function hasRoomFor(cart: Cart, sku: string): boolean {
  return cart.length < maxLines || cart.some((line) => line.sku === sku);
}

/** What a page says when the cart has no room for another product. */
export const cartFull = `Your cart is full: one order holds at most ${maxLines} products.`;

/** Adds units of a product, merging with its existing line; a full cart is left as it is (see hasRoomFor). */
export function addToCart(cart: Cart, item: Omit<CartLine, "quantity">, quantity = 1): Cart {
  const existing = cart.find((line) => line.sku === item.sku);
  if (!existing && !hasRoomFor(cart, item.sku)) return cart;
  if (!existing) return [...cart, { ...item, quantity: clamp(quantity) }];
  return cart.map((line) => (line.sku === item.sku ? { ...item, quantity: clamp(line.quantity + quantity) } : line));
}

/** Sets a line's quantity; zero or less removes it. */
export function setQuantity(cart: Cart, sku: string, quantity: number): Cart {
  if (!Number.isFinite(quantity) || quantity <= 0) return removeLine(cart, sku);
  return cart.map((line) => (line.sku === sku ? { ...line, quantity: clamp(quantity) } : line));
}

/** Removes a SKU's line. */
export function removeLine(cart: Cart, sku: string): Cart {
  return cart.filter((line) => line.sku !== sku);
}

/**
 * The cart once an order of `ordered` was placed: those units leave it, and nothing
 * else — a product added meanwhile (from another tab) stays.
 */
export function withoutOrdered(cart: Cart, ordered: readonly { sku: string; quantity: number }[]): Cart {
  const units = new Map(ordered.map(({ sku, quantity }) => [sku, quantity]));
  return cart.flatMap((line) => {
    const left = line.quantity - (units.get(line.sku) ?? 0);
    return left > 0 ? [{ ...line, quantity: left }] : [];
  });
}

/** Replaces the name and unit price of the lines the catalog now describes otherwise. */
export function withCurrentPrices(cart: Cart, current: ReadonlyMap<string, Omit<CartLine, "quantity">>): Cart {
  return cart.map((line) => {
    const now = current.get(line.sku);
    return now ? { ...line, name: now.name, unitPrice: now.unitPrice } : line;
  });
}

/** Units in the cart. */
export function itemCount(cart: Cart): number {
  return cart.reduce((sum, line) => sum + line.quantity, 0);
}

/** The cart's total per currency (an order needs a single currency). */
export function cartTotals(cart: Cart): Amount[] {
  const totals = new Map<string, bigint>();
  for (const line of cart) {
    const code = line.unitPrice.currencyCode;
    totals.set(code, (totals.get(code) ?? 0n) + line.unitPrice.amountMinor * BigInt(line.quantity));
  }
  return [...totals].map(([currencyCode, amountMinor]) => ({ currencyCode, amountMinor }));
}

const storageKey = "shopmesh.cart.v1";

/** Reads the cart kept in the browser; anything unreadable is an empty cart. */
export function loadCart(storage: Pick<Storage, "getItem">): Cart {
  try {
    const raw: unknown = JSON.parse(storage.getItem(storageKey) ?? "[]");
    if (!Array.isArray(raw)) return [];
    return raw.flatMap((entry: unknown): CartLine[] => {
      const line = entry as Record<string, unknown> | null;
      const price = line?.unitPrice as Record<string, unknown> | undefined;
      if (
        typeof line?.sku !== "string" ||
        typeof line.name !== "string" ||
        typeof line.quantity !== "number" ||
        typeof price?.amountMinor !== "string" ||
        typeof price.currencyCode !== "string"
      ) {
        return [];
      }
      return [
        {
          sku: line.sku,
          name: line.name,
          quantity: clamp(line.quantity),
          unitPrice: { amountMinor: BigInt(price.amountMinor), currencyCode: price.currencyCode },
        },
      ];
    });
  } catch {
    return [];
  }
}

/** Keeps the cart in the browser across reloads. */
export function saveCart(storage: Pick<Storage, "setItem">, cart: Cart): void {
  const plain = cart.map((line) => ({
    ...line,
    unitPrice: { amountMinor: line.unitPrice.amountMinor.toString(), currencyCode: line.unitPrice.currencyCode },
  }));
  storage.setItem(storageKey, JSON.stringify(plain));
}

function clamp(quantity: number): number {
  return Math.min(maxQuantity, Math.max(1, Math.floor(quantity)));
}
