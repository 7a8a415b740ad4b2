import { createHash, randomUUID } from "node:crypto";
import type { Outbox } from "@shopmesh/events";
import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { annotateActiveSpan } from "@shopmesh/telemetry";
import type pg from "pg";
import type { CatalogEntry, CatalogPort, LookupTime } from "./catalog-client.js";
import { OrderError } from "./errors.js";
import { maxAmountMinor, type Order, type OrderLine, totalOf } from "./order.js";
import { toMoney, toPricedLine } from "./order-message.js";
import { orderMetrics } from "./order-metrics.js";
import { findByIdempotencyKey, type OrderInserter, type StoredOrder } from "./order-store.js";

/** What a customer asks to order. */
export interface PlaceOrderCommand {
  readonly customerId: string;
  readonly idempotencyKey: string;
  readonly items: readonly { readonly sku: string; readonly quantity: number }[];
  readonly paymentToken: string;
}

/** What placing an order needs. */
export interface PlaceOrderDeps {
  readonly pool: pg.Pool;
  /** Writes the order and its OrderPlaced event (see createOrderInserter). */
  readonly insertOrder: OrderInserter;
  readonly outbox: Outbox;
  readonly catalog: CatalogPort;
  /** Longest wait for the catalog (the caller's remaining deadline caps it). */
  readonly catalogTimeoutMs: number;
}

/**
 * Places an order: the items are priced from the catalog, and the PENDING order with
 * its lines and an OrderPlaced event commit in one statement. A repeated idempotency
 * key writes nothing and answers the order it created (ALREADY_EXISTS for a
 * different request) — checked on conflict, or when the items cannot be priced now,
 * so first attempts pay no extra lookup. The checkout goes on asynchronously.
 */
export async function placeOrder(deps: PlaceOrderDeps, command: PlaceOrderCommand, remainingMs?: number) {
  const requestHash = hashRequest(command);
  const callersDeadline = remainingMs !== undefined && remainingMs < deps.catalogTimeoutMs;
  const time = { timeoutMs: callersDeadline ? remainingMs : deps.catalogTimeoutMs, callersDeadline };
  let priced: { lines: OrderLine[]; currency: string };
  try {
    priced = await priceItems(deps.catalog, command.items, time);
  } catch (error) {
    // A retry of an order placed before (its answer lost) may find the catalog unable
    // to price it now — unavailable, failing with an error of its own (INTERNAL: a bug
    // in inventory, say), or a SKU since withdrawn: the key still answers the order it
    // created. A lookup that fails leaves the catalog's error.
    const earlier = await findByIdempotencyKey(deps.pool, command.customerId, command.idempotencyKey).catch(
      () => undefined,
    );
    if (earlier) return sameRequestOrThrow(earlier, requestHash);
    throw error;
  }
  const { lines, currency } = priced;
  const order = {
    orderId: randomUUID(),
    customerId: command.customerId,
    lines,
    totalMinor: totalOf(lines),
    currency,
    idempotencyKey: command.idempotencyKey,
    requestHash,
  };
  const placed = deps.outbox.prepare(OrderPlacedSchema, {
    orderId: order.orderId,
    customerId: order.customerId,
    lines: lines.map((line) => toPricedLine(line, currency)),
    total: toMoney(order.totalMinor, currency),
    paymentToken: command.paymentToken,
  });
  const created = await deps.insertOrder({ order, placed });
  if (!created) {
    const earlier = await findByIdempotencyKey(deps.pool, command.customerId, command.idempotencyKey);
    if (!earlier) throw new Error("idempotency key conflict without an order");
    return sameRequestOrThrow(earlier, requestHash);
  }
  orderMetrics.placed();
  annotateActiveSpan({
    "shopmesh.order.id": order.orderId,
    "shopmesh.customer.id": order.customerId,
    "shopmesh.order.sku_count": lines.length,
  });
  const at = created.createdAt;
  return {
    ...order,
    status: "pending",
    statusReason: "",
    paymentId: "",
    history: [{ status: "pending", reason: "", at }],
    createdAt: at,
    updatedAt: at,
  } satisfies Order;
}

/**
 * Prices the items from the catalog. Availability is not checked here: the
 * reservation is the only authority (stock may change a moment later), and an order
 * it cannot serve is REJECTED, visibly, rather than refused.
 */
async function priceItems(catalog: CatalogPort, items: PlaceOrderCommand["items"], time: LookupTime) {
  const entries = await catalog.lookup(
    items.map((item) => item.sku),
    time,
  );
  const lines = priceLines(items, entries);
  return { lines, currency: entries.get(lines[0]?.sku ?? "")?.currency ?? "" };
}

function priceLines(items: PlaceOrderCommand["items"], entries: Map<string, CatalogEntry>): OrderLine[] {
  const missing = items.filter((item) => !entries.has(item.sku)).map((item) => item.sku);
  if (missing.length > 0) {
    throw new OrderError("ORDER_UNKNOWN_SKU", `unknown SKU: ${missing.join(", ")}`, { skus: missing.join(",") });
  }
  const currencies = new Set([...entries.values()].map((entry) => entry.currency));
  if (currencies.size > 1) {
    throw new OrderError("ORDER_MIXED_CURRENCIES", "the items are priced in different currencies");
  }
  const lines = items.map((item) => {
    const entry = entries.get(item.sku) as { name: string; priceMinor: bigint };
    return { sku: item.sku, name: entry.name, quantity: item.quantity, unitPriceMinor: entry.priceMinor };
  });
  // The checkout confirms an order when its payment is captured, and a provider
  // captures no zero amount: such an order would hold its stock forever.
  const total = totalOf(lines);
  if (total === 0n) {
    throw new OrderError(
      "ORDER_NOTHING_TO_CHARGE",
      "the items cost nothing: there is no payment to confirm the order",
      {
        skus: items.map((item) => item.sku).join(","),
      },
    );
  }
  if (total > maxAmountMinor) {
    throw new OrderError(
      "ORDER_TOTAL_TOO_LARGE",
      `the items cost more than an order may total (${maxAmountMinor} minor units)`,
      { totalMinor: String(total), maxMinor: String(maxAmountMinor) },
    );
  }
  return lines;
}

function sameRequestOrThrow(order: StoredOrder, requestHash: string): Order {
  // A retried call is about that order too: found by its id like the first.
  annotateActiveSpan({ "shopmesh.order.id": order.orderId, "shopmesh.customer.id": order.customerId });
  if (order.requestHash !== requestHash) {
    throw new OrderError(
      "ORDER_IDEMPOTENCY_KEY_REUSED",
      "this idempotency key was already used for a different order request",
      { orderId: order.orderId },
    );
  }
  return order;
}

function hashRequest(command: PlaceOrderCommand): string {
  const canonical = JSON.stringify([command.items.map((item) => [item.sku, item.quantity]), command.paymentToken]);
  return createHash("sha256").update(canonical).digest("base64url");
}
