import { randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { CatalogService } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import { OrderService } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import { createCatalogClient } from "@shopmesh/order/catalog-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { products } from "../src/fixtures.js";
import { type Mesh, startMesh } from "../src/mesh.js";

// Every server and client refuses a message over 1 MiB. Answers whose size is up to
// the data — pages of products or orders, a catalog call for up to 100 SKUs — must fit
// whatever a product says: its text is bounded, and pages of orders end where the next
// order would not fit. Products here are as large as the bounds allow, made of
// characters that Connect JSON writes as two bytes each.

let mesh: Mesh;
const largest = { name: '"'.repeat(200), description: '"'.repeat(2_000), category: '"'.repeat(64) };
const catalog = products(100, 1_000n).map((product) => ({ ...product, ...largest }));
const skus = catalog.map((product) => product.sku);

beforeAll(async () => {
  mesh = await startMesh("message_limits");
  await mesh.seed(catalog);
});

afterAll(async () => {
  await mesh?.close();
});

const outcome = (call: Promise<unknown>) =>
  call.then(
    () => "ok" as const,
    (error: unknown) => `${Code[ConnectError.from(error).code]}: ${ConnectError.from(error).rawMessage}`,
  );

const overConnectJson = (port: number) =>
  createConnectTransport({ baseUrl: `http://127.0.0.1:${port}`, httpVersion: "1.1", useBinaryFormat: false });

describe("answers as large as the data allows", () => {
  it("refuses a product whose text is over its bounds", async () => {
    for (const oversized of [
      { name: "n".repeat(201) },
      { description: "d".repeat(2_001) },
      { description: "a bell\u0007" },
      { category: "c".repeat(65) },
    ]) {
      const [product] = products(1, 1n).map((base) => ({ ...base, ...oversized }));
      if (!product) throw new Error("no product");
      await expect(mesh.seed([product]), JSON.stringify(oversized).slice(0, 40)).rejects.toThrow(/_bounded/);
    }
  });

  it("a page of 100 of the largest products, over gRPC and Connect JSON", async () => {
    const connect = createClient(CatalogService, overConnectJson(mesh.ports.inventory.http));
    const pages = await Promise.all([
      mesh.catalog.listProducts({ pageSize: 100 }),
      connect.listProducts({ pageSize: 100 }),
    ]);
    expect(pages.map((page) => page.products.length)).toEqual([100, 100]);
  });

  it("catalog calls for 50 SKUs each, sharing one call of 100, and a PlaceOrder of 50 lines", async () => {
    const client = createCatalogClient(`127.0.0.1:${mesh.ports.inventory.grpc}`, 0);
    try {
      // The first has a call of its own; the two that come while it is in flight share the next.
      expect(
        await Promise.all([
          outcome(client.lookup(skus.slice(0, 50), { timeoutMs: 5_000, callersDeadline: false })),
          outcome(client.lookup(skus.slice(0, 50), { timeoutMs: 5_000, callersDeadline: false })),
          outcome(client.lookup(skus.slice(50, 100), { timeoutMs: 5_000, callersDeadline: false })),
        ]),
      ).toEqual(["ok", "ok", "ok"]);
    } finally {
      client.close();
    }
    const token = await mesh.customerToken(`large-${randomUUID()}`);
    const placed = mesh.orders(token).placeOrder({
      idempotencyKey: randomUUID(),
      items: skus.slice(0, 50).map((sku) => ({ sku, quantity: 1 })),
      paymentToken: "tok_visa",
    });
    expect(await outcome(placed)).toBe("ok");
  });

  it("pages of 100 orders of 50 lines each end where the next order would not fit", async () => {
    const customer = `lister-${randomUUID()}`;
    const token = await mesh.customerToken(customer);
    const placed = new Set<string>();
    for (let n = 0; n < 40; n++) {
      const { order } = await mesh.orders(token).placeOrder({
        idempotencyKey: randomUUID(),
        items: skus.slice(n % 2 === 0 ? 0 : 50, n % 2 === 0 ? 50 : 100).map((sku) => ({ sku, quantity: 1 })),
        paymentToken: "tok_visa",
      });
      if (order) placed.add(order.orderId);
    }
    expect(placed.size).toBe(40);
    const connect = createClient(OrderService, overConnectJson(mesh.ports.order.http));
    const headers = { authorization: `Bearer ${token}` };
    for (const list of [
      (pageToken: string) => mesh.orders(token).listOrders({ pageSize: 100, pageToken }),
      (pageToken: string) => connect.listOrders({ pageSize: 100, pageToken }, { headers }),
    ]) {
      const listed: string[] = [];
      let pages = 0;
      let pageToken = "";
      do {
        const page = await list(pageToken);
        listed.push(...page.orders.map((order) => order.orderId));
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken !== "" && pages < 40);
      // 40 such orders are over a MiB in JSON: more than one page, every order once.
      expect(pages).toBeGreaterThan(1);
      expect(listed).toHaveLength(40);
      expect(new Set(listed)).toEqual(placed);
    }
  });
});
