import { createHash } from "node:crypto";
import type pg from "pg";
import { OrderError } from "./errors.js";
import { isFinal, type Order } from "./order.js";
import { findCustomerOrder, listCustomerOrders, type OrderCursor } from "./order-store.js";
import type { OrderWatcher } from "./order-watch.js";

/** One of the customer's orders; NOT_FOUND also for another customer's order. */
export async function getOrder(pool: pg.Pool, customerId: string, orderId: string): Promise<Order> {
  const order = await findCustomerOrder(pool, customerId, orderId);
  if (!order) throw new OrderError("ORDER_NOT_FOUND", "no such order");
  return order;
}

/** How large a page of orders may be: the size of each order's answer, and the most in all. */
export interface PageBytes {
  readonly sizeOf: (order: Order) => number;
  readonly max: number;
}

/**
 * A page of the customer's orders, newest first, with an opaque token for the next page.
 * The page ends early where the next order would take it past `bytes.max` (orders of
 * 50 lines, a hundred to a page, would not fit in one message); it holds at least one.
 */
export async function listOrders(
  pool: pg.Pool,
  customerId: string,
  pageSize: number,
  pageToken: string,
  bytes: PageBytes,
) {
  const after = decodeToken(pageToken, customerId);
  const { orders, more } = await listCustomerOrders(pool, customerId, pageSize || 20, after).catch((error: unknown) => {
    // A data exception (class 22) here can only come from the token's values, which a
    // client can forge: a time PostgreSQL cannot read, say.
    if (after && isDataException(error)) throw invalidPageToken();
    throw error;
  });
  let size = 0;
  let fitting = 0;
  for (const { order } of orders) {
    size += bytes.sizeOf(order);
    if (fitting > 0 && size > bytes.max) break;
    fitting++;
  }
  const last = orders[fitting - 1];
  const next = (more || fitting < orders.length) && last ? encodeToken(last.cursor, customerId) : "";
  return { orders: orders.slice(0, fitting).map(({ order }) => order), nextPageToken: next };
}

/**
 * The customer's order now and after every change, until it reaches a final status
 * or `signal` aborts — and again, changed or not, whenever the watcher finds the order
 * quiet for a while, so a silent stream is a lost one. Subscribes before the first
 * read so no change is missed.
 */
export async function* watchOrder(
  pool: pg.Pool,
  watcher: OrderWatcher,
  customerId: string,
  orderId: string,
  signal: AbortSignal,
): AsyncGenerator<Order> {
  const subscription = watcher.subscribe(orderId);
  try {
    let lastVersion = "";
    let woke: "changed" | "quiet" = "changed";
    while (!signal.aborted) {
      const order = await getOrder(pool, customerId, orderId);
      const version = `${order.status}:${order.history.length}`;
      if (version !== lastVersion || woke === "quiet") {
        lastVersion = version;
        yield order;
      }
      if (isFinal(order.status)) return;
      woke = await subscription.next(signal);
    }
  } finally {
    subscription.close();
  }
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The opaque token of the page after `cursor`: base64url JSON of the cursor and a
 * fingerprint of the customer it was issued to, so another customer's token is refused.
 * (Forging one gains nothing: the query reads the caller's own orders only.)
 */
function encodeToken(cursor: OrderCursor, customerId: string): string {
  const token: PageToken = { createdAt: cursor.createdAt, orderId: cursor.orderId, customer: fingerprint(customerId) };
  return Buffer.from(JSON.stringify(token)).toString("base64url");
}

interface PageToken extends OrderCursor {
  readonly customer: string;
}

function decodeToken(token: string, customerId: string): OrderCursor | undefined {
  if (token === "") return undefined;
  let decoded: Partial<Record<keyof PageToken, unknown>> | undefined;
  const bytes = Buffer.from(token, "base64url");
  // Node's decoder skips what is not base64url: only a token that is its bytes' own
  // spelling is one this service issued.
  if (bytes.toString("base64url") !== token) throw invalidPageToken();
  try {
    decoded = JSON.parse(bytes.toString());
  } catch {}
  const { createdAt, orderId, customer } = decoded ?? {};
  if (typeof createdAt !== "string" || typeof orderId !== "string" || !uuid.test(orderId)) throw invalidPageToken();
  if (customer !== fingerprint(customerId)) {
    throw new OrderError("ORDER_INVALID_PAGE_TOKEN", "page_token was issued to another caller");
  }
  return { createdAt, orderId };
}

function fingerprint(customerId: string): string {
  return createHash("sha256").update(customerId).digest("base64url").slice(0, 16);
}

function invalidPageToken(): OrderError {
  return new OrderError("ORDER_INVALID_PAGE_TOKEN", "page_token is not a token this service issued");
}

function isDataException(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("22");
}
