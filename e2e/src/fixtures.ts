import { randomUUID } from "node:crypto";
import type { MessageShape } from "@bufbuild/protobuf";
import { type Order, OrderStatus } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import type { seedCatalog } from "@shopmesh/inventory/seed";

/** A product as the inventory seeds it. */
export type NewProduct = NonNullable<Parameters<typeof seedCatalog>[1]>[number];

import { waitFor } from "@shopmesh/testing";
import type { Mesh } from "./mesh.js";

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

export type { Order };
