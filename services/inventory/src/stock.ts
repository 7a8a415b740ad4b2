import { createHash } from "node:crypto";
import { InventoryError } from "./errors.js";
import type { Money } from "./product.js";

/**
 * Where an order's reservation stands. `released` without items is a tombstone:
 * the order was cancelled before its reservation was tried.
 */
export type ReservationStatus = "reserved" | "rejected" | "released" | "sold";

/** Units of one SKU. */
export interface StockItem {
  readonly sku: string;
  readonly quantity: number;
}

/** A SKU that could not be reserved in full. */
export interface Shortage {
  readonly sku: string;
  readonly requested: number;
  /** Units available when the reservation was tried; 0 for an unknown SKU. */
  readonly available: bigint;
}

/** What StockReserved carries on to payment, copied from OrderPlaced. */
export interface Charge {
  readonly total: Money;
  readonly paymentToken: string;
}

/** The answer to a reservation request, fresh or repeated. */
export type ReservationAnswer =
  | { readonly status: "reserved" }
  | { readonly status: "rejected"; readonly shortages: readonly Shortage[] }
  | { readonly status: "released" };

/**
 * How each unit of an item moves between the buckets of its SKU. Every movement
 * sums to zero, which is what keeps initial = available + reserved + sold.
 */
export interface Movement {
  readonly available: -1 | 0 | 1;
  readonly reserved: -1 | 0 | 1;
  readonly sold: -1 | 0 | 1;
}

/** The movements of the reservation life cycle. */
export const movements = {
  /** An order's items are held. */
  reserve: { available: -1, reserved: 1, sold: 0 },
  /** The order was confirmed: held units are sold. */
  sell: { available: 0, reserved: -1, sold: 1 },
  /** The order was cancelled before confirmation: held units go back on sale. */
  release: { available: 1, reserved: -1, sold: 0 },
  /** The order was cancelled after confirmation (refunded): sold units go back on sale. */
  restock: { available: 1, reserved: 0, sold: -1 },
} as const satisfies Record<string, Movement>;

/** What an order event does to the order's reservation. */
export type Transition =
  /** Move the reservation's items and set its new status. */
  | { readonly kind: "move"; readonly movement: Movement; readonly to: ReservationStatus }
  /** Record a released reservation without items, so a later reservation is refused. */
  | { readonly kind: "tombstone" }
  /** Nothing to do: the event is stale or already applied. */
  | { readonly kind: "none"; readonly reason: string }
  /** The reservation the event presumes does not exist (yet). */
  | { readonly kind: "missing" };

/**
 * OrderConfirmed: the held units are sold. Confirmation follows StockReserved in the
 * saga, so a missing reservation means OrderPlaced is still to come: the event waits
 * for it (ReservationNotYetMadeError, retried); a released one means the
 * cancellation (which follows confirmation when a paid order is cancelled) arrived
 * first, and has already put the stock back.
 */
export function onOrderConfirmed(status: ReservationStatus | undefined): Transition {
  switch (status) {
    case undefined:
      return { kind: "missing" };
    case "reserved":
      return { kind: "move", movement: movements.sell, to: "sold" };
    case "sold":
      return { kind: "none", reason: "already sold" };
    case "released":
      return { kind: "none", reason: "the order was cancelled; its stock is already released" };
    case "rejected":
      return { kind: "none", reason: "nothing was reserved" };
  }
}

/**
 * OrderCancelled (or ReleaseStock): held units go back on sale, and so do sold ones
 * when a confirmed order is cancelled. Without a reservation yet, a tombstone makes
 * the reservation that may still arrive a no-op.
 */
export function onOrderCancelled(status: ReservationStatus | undefined): Transition {
  switch (status) {
    case undefined:
      return { kind: "tombstone" };
    case "reserved":
      return { kind: "move", movement: movements.release, to: "released" };
    case "sold":
      return { kind: "move", movement: movements.restock, to: "released" };
    case "released":
      return { kind: "none", reason: "already released" };
    case "rejected":
      return { kind: "none", reason: "nothing was reserved" };
  }
}

/**
 * ReleaseStock, an operator's request: held units go back on sale, and an order with
 * no reservation yet gets its tombstone, as for OrderCancelled. Sold units stay sold:
 * a confirmed order's stock returns only with its cancellation, which refunds it.
 */
export function onReleaseRequested(status: ReservationStatus | undefined): Transition {
  return status === "sold"
    ? { kind: "none", reason: "sold: only cancelling the order returns it" }
    : onOrderCancelled(status);
}

/** The answer a repeated reservation request gets: the first outcome. */
export function answerOf(status: ReservationStatus, shortages: readonly Shortage[]): ReservationAnswer {
  switch (status) {
    case "reserved":
    case "sold":
      return { status: "reserved" };
    case "rejected":
      return { status: "rejected", shortages };
    case "released":
      return { status: "released" };
  }
}

/**
 * A reservation as stored, as far as answering a repeated request needs it. The
 * request digest is undefined for a tombstone.
 */
export interface KnownReservation {
  readonly status: ReservationStatus;
  /** Whether its outcome was announced (not when an operator's RPC made it). */
  readonly announced: boolean;
  readonly requestDigest: string | undefined;
  readonly shortages: readonly Shortage[];
}

/**
 * The answer to a request for an order that already has a reservation: the first
 * outcome, unless the request asks for other items than the first one did
 * (STOCK.ORDER_MISMATCH). A released order answers `released` whatever the items:
 * nothing will be reserved for it again.
 */
export function repeatAnswer(orderId: string, known: KnownReservation, requestDigest: string): ReservationAnswer {
  if (known.status !== "released" && known.requestDigest !== undefined && known.requestDigest !== requestDigest) {
    throw new InventoryError("STOCK.ORDER_MISMATCH", `order ${orderId} was reserved with other items`);
  }
  return answerOf(known.status, known.shortages);
}

/**
 * Whether an order's OrderPlaced replaces the reservation an operator's ReserveStock
 * made for the order with other items. The order waits for an answer about its own
 * items, and an unannounced reservation answered someone else: holding the wrong
 * items, or refusing them, would leave the order PENDING for ever. An announced
 * reservation is the order's own (another request for other items is a mismatch),
 * and a tombstone answers `released` whatever the items.
 */
export function replacedByOrder(known: KnownReservation, requestDigest: string): boolean {
  return (
    !known.announced &&
    (known.status === "reserved" || known.status === "rejected") &&
    known.requestDigest !== undefined &&
    known.requestDigest !== requestDigest
  );
}

/** A fresh reservation decision: every item held, or none and why. */
export type Allocation =
  | { readonly status: "reserved" }
  | { readonly status: "rejected"; readonly shortages: readonly Shortage[] };

/**
 * Decides one order's reservation against the units `available` per SKU (an unknown
 * SKU has none), all or nothing: when every item can be had in full they are taken
 * out of `available`; otherwise nothing is taken and the shortages say why. Deciding
 * orders one after the other on the same map is what lets a batch of orders share
 * locked stock without ever overselling it.
 */
export function allocate(available: Map<string, bigint>, items: readonly StockItem[]): Allocation {
  const shortages = items
    .map(({ sku, quantity }) => ({ sku, requested: quantity, available: available.get(sku) ?? 0n }))
    .filter((item) => item.available < BigInt(item.requested));
  if (shortages.length > 0) return { status: "rejected", shortages };
  for (const { sku, quantity } of items) available.set(sku, (available.get(sku) ?? 0n) - BigInt(quantity));
  return { status: "reserved" };
}

const skuPattern = /^[A-Z0-9]+(-[A-Z0-9]+)*$/;
/** Most units of one SKU in one order line, as the contracts allow. */
export const maxLineQuantity = 1000;
/** Most distinct SKUs in one reservation. */
export const maxReservationItems = 50;

/**
 * Checks what an order asks for and puts it in the canonical form the stores rely
 * on: one item per SKU (repeated lines summed) in ascending SKU order, which is
 * also the order rows are locked in.
 */
export function normalizeItems(lines: readonly StockItem[]): StockItem[] {
  if (lines.length === 0) throw invalid("an order needs at least one item");
  const totals = new Map<string, number>();
  for (const { sku, quantity } of lines) {
    if (sku.length < 3 || sku.length > 32 || !skuPattern.test(sku)) throw invalid(`invalid SKU "${sku}"`);
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > maxLineQuantity) {
      throw invalid(`quantity of ${sku} must be 1 to ${maxLineQuantity}, not ${quantity}`);
    }
    totals.set(sku, (totals.get(sku) ?? 0) + quantity);
  }
  if (totals.size > maxReservationItems) throw invalid(`at most ${maxReservationItems} SKUs per order`);
  return [...totals]
    .map(([sku, quantity]) => ({ sku, quantity }))
    .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

/**
 * A digest of normalized items: a repeated reservation request must ask for the
 * same items to be answered with the first outcome.
 */
export function digestOf(items: readonly StockItem[]): string {
  const canonical = items.map(({ sku, quantity }) => `${sku}*${quantity}`).join(",");
  return createHash("sha256").update(canonical).digest("base64url");
}

/** The stock position of one SKU. */
export interface StockLevel {
  readonly sku: string;
  readonly available: bigint;
  readonly reserved: bigint;
  /** Changes every time on hand does (the database counts it). */
  readonly onHandVersion: bigint;
}

/** Units in the warehouse and not yet sold: available + reserved. */
export function onHandOf(level: StockLevel): bigint {
  return level.available + level.reserved;
}

/**
 * An inventory count: the SKU now has `onHand` units, reserved ones included. What
 * is reserved stays reserved, so the count may not go below it.
 */
export function countStock(level: StockLevel, onHand: bigint): StockLevel {
  if (onHand < 0n) throw invalid("on hand cannot be negative", "on_hand");
  if (onHand < level.reserved) {
    throw new InventoryError(
      "STOCK.BELOW_RESERVED",
      `${level.sku} has ${level.reserved} units reserved; on hand cannot be set to ${onHand}`,
    );
  }
  return { ...level, available: onHand - level.reserved };
}

/** An inventory count as asked: the units on hand, and what it was taken against. */
export interface CountRequest {
  readonly onHand: bigint;
  readonly expectedOnHand?: bigint | undefined;
  readonly expectedVersion?: bigint | undefined;
}

/** The last count applied to a SKU: what it was taken against, what it set, the version it left. */
export interface LastCount {
  readonly fromVersion: bigint;
  readonly fromOnHand: bigint;
  readonly onHand: bigint;
  readonly version: bigint;
}

/**
 * Whether a count applies to the stock as it is now. The same count sent again (its
 * answer was lost) with nothing changed since it was applied is already done; else a
 * count taken against another stock than this one is refused with STOCK.CHANGED — by
 * version, exact, or by number, which cannot see a change that came back.
 */
export function decideCount(level: StockLevel, last: LastCount | undefined, count: CountRequest): "apply" | "done" {
  const { expectedOnHand, expectedVersion } = count;
  if (expectedVersion === undefined && expectedOnHand === undefined) return "apply";
  // Each expectation given must be what the last count was taken against.
  const repeated =
    last !== undefined &&
    last.version === level.onHandVersion &&
    last.onHand === count.onHand &&
    (expectedVersion === undefined || last.fromVersion === expectedVersion) &&
    (expectedOnHand === undefined || last.fromOnHand === expectedOnHand);
  if (repeated) return "done";
  const onHand = onHandOf(level);
  if (expectedVersion !== undefined && expectedVersion !== level.onHandVersion) {
    throw changed(
      `${level.sku}'s on hand has changed since version ${expectedVersion} (now ${level.onHandVersion}, ${onHand} units)`,
    );
  }
  if (expectedOnHand !== undefined && expectedOnHand !== onHand) {
    throw changed(`${level.sku} has ${onHand} units on hand, not the ${expectedOnHand} counted against`);
  }
  return "apply";
}

function changed(message: string): InventoryError {
  return new InventoryError("STOCK.CHANGED", `${message}: read it again`);
}

function invalid(message: string, field = "items"): InventoryError {
  return new InventoryError("STOCK.INVALID_REQUEST", message, field);
}
