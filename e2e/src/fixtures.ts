import { randomUUID } from "node:crypto";
import type { MessageShape } from "@bufbuild/protobuf";
import { type Order, OrderStatus } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import type { seedCatalog } from "@shopmesh/inventory/seed";
import { waitFor } from "@shopmesh/testing";
import type { Mesh } from "./mesh.js";

/** A product as the inventory seeds it. */
export type NewProduct = NonNullable<Parameters<typeof seedCatalog>[1]>[number];

/** An OrderService client as the mesh hands one out, for one customer. */
export type OrderClient = ReturnType<Mesh["orders"]>;

/** Products unique to one test, priced in USD, with the given available units. */
export function products(count: number, available: bigint, priceMinor = 1_250n): NewProduct[] {
  const run = randomUUID().slice(0, 8).toUpperCase();
  return Array.from({ length: count }, (_, index) => ({
    sku: `E2E-${run}-${index + 1}`,
    name: `Test product ${index + 1}`,
    description: "made for an end-to-end test",
    category: "test",
    price: { amountMinor: priceMinor, currency: "USD" },
    available,
  }));
}

/** The initial stock of products, for the conservation invariant. */
export function stockOf(items: readonly NewProduct[]): Map<string, bigint> {
  return new Map(items.map((item) => [item.sku, item.available]));
}

/** Statuses after which an order no longer changes on its own. */
export const finalStatuses = [OrderStatus.CONFIRMED, OrderStatus.REJECTED, OrderStatus.CANCELLED];

/** Waits until an order reaches one of `statuses` and answers it. */
export async function waitForStatus(
  mesh: Mesh,
  token: string,
  orderId: string,
  statuses: readonly OrderStatus[] = finalStatuses,
  timeoutMs = 20_000,
): Promise<MessageShape<typeof import("@shopmesh/gen/shopmesh/order/v1/order_pb.js").OrderSchema>> {
  const orders = mesh.orders(token);
  return waitFor(
    async () => {
      const { order } = await orders.getOrder({ orderId });
      return order && statuses.includes(order.status) ? order : undefined;
    },
    { timeoutMs, description: `order ${orderId} to reach ${statuses.map((s) => OrderStatus[s]).join("/")}` },
  );
}

/** Available, reserved and sold units of a SKU, straight from the inventory database. */
export async function stockLevel(mesh: Mesh, sku: string) {
  const { rows } = await mesh.pools.inventory.query<{ available: string; reserved: string; sold: string }>(
    "SELECT available, reserved, sold FROM products WHERE sku = $1",
    [sku],
  );
  const row = rows[0];
  if (!row) throw new Error(`no product ${sku}`);
  return { available: BigInt(row.available), reserved: BigInt(row.reserved), sold: BigInt(row.sold) };
}

/** Places an order of one unit of `sku`, paid with a card that is charged, and answers its id. */
export async function placeOrder(orders: OrderClient, sku: string): Promise<string> {
  const { order } = await orders.placeOrder({
    idempotencyKey: randomUUID(),
    items: [{ sku, quantity: 1 }],
    paymentToken: "tok_visa",
  });
  return order?.orderId ?? "";
}

/**
 * Places `count` orders as {@link placeOrder} does, `parallel` at a time (all at once
 * unless said), and answers their ids once every one is acknowledged.
 */
export async function placeOrders(
  orders: OrderClient,
  sku: string,
  count: number,
  parallel = count,
): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - start) }, () => placeOrder(orders, sku));
    ids.push(...(await Promise.all(batch)));
  }
  return ids;
}

/** How many of the orders `ids` stand in each status (`confirmed`, `pending`, …), from the order database. */
export async function orderStatuses(mesh: Mesh, ids: readonly string[]): Promise<Partial<Record<string, number>>> {
  const { rows } = await mesh.pools.order.query<{ status: string; n: number }>(
    "SELECT status, count(*)::int AS n FROM orders WHERE order_id = ANY($1) GROUP BY status",
    [ids],
  );
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

export type { Order };
