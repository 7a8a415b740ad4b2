import { randomUUID } from "node:crypto";
import { ConnectError } from "@connectrpc/connect";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
} from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { addProducts, consumedThrough, publishAgain, stockOf, useInventoryService } from "./harness.js";

const inventory = useInventoryService("races");

describe("events, RPCs and counts racing on the same orders and SKUs", () => {
  it("conserve stock, never go negative, and leave every bucket matching the reservations", async () => {
    const skus = ["RACE-X", "RACE-Y", "RACE-Z"];
    await addProducts(inventory, Object.fromEntries(skus.map((sku) => [sku, 40])));
    const orders = Array.from({ length: 80 }, (_, i) => ({
      orderId: randomUUID(),
      items: [
        { sku: skus[i % 3] as string, quantity: 1 + (i % 2) },
        { sku: skus[(i + 1) % 3] as string, quantity: 1 },
      ],
      i,
    }));
    const cancelled = new Set(orders.filter(({ i }) => i % 3 === 0).map(({ orderId }) => orderId));
    let lastSeq = 0;
    const track = (seq: number) => {
      lastSeq = Math.max(lastSeq, seq);
    };
    const publish = async (
      schema: typeof OrderPlacedSchema | typeof OrderCancelledSchema | typeof OrderConfirmedSchema,
      init: Record<string, unknown>,
    ) => {
      // biome-ignore lint/suspicious/noExplicitAny: a test publishing several event types
      const { seq } = await publishAgain(inventory, schema as any, init as any);
      track(seq);
    };
    const counts = (async () => {
      for (let n = 0; n < 30; n++) {
        for (const sku of skus) {
          const { stock } = await inventory.stockClient.getStock({ sku });
          await inventory.stockClient
            .setStock({ sku, onHand: stock?.onHand ?? 0n, expectedOnHandVersion: stock?.onHandVersion ?? 0n })
            .catch((error: unknown) => {
              if (ConnectError.from(error).code !== 10) throw error; // ABORTED: changed meanwhile
            });
        }
      }
    })();
    await Promise.all(
      orders.map(async ({ orderId, items, i }) => {
        const lines = items.map(({ sku, quantity }) => ({
          sku,
          name: sku,
          quantity,
          unitPrice: { amountMinor: 100n, currencyCode: "USD" },
          lineTotal: { amountMinor: 100n * BigInt(quantity), currencyCode: "USD" },
        }));
        const steps: Promise<unknown>[] = [];
        if (i % 4 === 1) steps.push(inventory.stockClient.reserveStock({ orderId, items }));
        if (i % 5 === 2) steps.push(inventory.stockClient.releaseStock({ orderId }));
        steps.push(
          publish(OrderPlacedSchema, {
            orderId,
            customerId: "c",
            lines,
            total: { amountMinor: 100n, currencyCode: "USD" },
            paymentToken: "tok",
          }),
        );
        if (i % 2 === 0) steps.push(publish(OrderConfirmedSchema, { orderId }));
        if (cancelled.has(orderId)) steps.push(publish(OrderCancelledSchema, { orderId }));
        await Promise.all(steps);
      }),
    );
    await counts;
    await consumedThrough(inventory, lastSeq);
    await waitFor(
      async () => {
        const { rows } = await inventory.pool.query("SELECT 1 FROM reservations WHERE order_id = ANY ($1::uuid[])", [
          orders.map(({ orderId }) => orderId),
        ]);
        return rows.length === orders.length;
      },
      { description: "every order decided" },
    );

    for (const sku of skus) {
      const stock = await stockOf(inventory, sku);
      expect(stock.available + stock.reserved + stock.sold, sku).toBe(40);
    }
    const { rows } = await inventory.pool.query<{
      sku: string;
      reserved: string;
      sold: string;
      held: string;
      sales: string;
    }>(
      `SELECT p.sku, p.reserved::text, p.sold::text,
              (SELECT coalesce(sum(i.quantity), 0) FROM reservation_items i JOIN reservations r USING (order_id)
                WHERE i.sku = p.sku AND r.status = 'reserved')::text AS held,
              (SELECT coalesce(sum(i.quantity), 0) FROM reservation_items i JOIN reservations r USING (order_id)
                WHERE i.sku = p.sku AND r.status = 'sold')::text AS sales
         FROM products p WHERE p.sku LIKE 'RACE-%'`,
    );
    for (const row of rows) {
      expect(row.held, row.sku).toBe(row.reserved);
      expect(row.sales, row.sku).toBe(row.sold);
    }
    const { rows: statuses } = await inventory.pool.query<{ order_id: string; status: string }>(
      "SELECT order_id, status FROM reservations WHERE order_id = ANY ($1::uuid[])",
      [[...cancelled]],
    );
    for (const { order_id, status } of statuses) expect(["released", "rejected"], order_id).toContain(status);
  });
});
