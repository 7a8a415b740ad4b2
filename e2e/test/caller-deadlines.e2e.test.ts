// A PlaceOrder whose caller's deadline runs out while its items are priced: the answer
// on every protocol, and what a retry with the same key then finds.
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { PlaceOrderRequestSchema } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { products } from "../src/fixtures.js";
import { type Mesh, startMesh } from "../src/mesh.js";
import { envelope, rawGrpc, rawGrpcWeb } from "../src/raw-calls.js";

let mesh: Mesh;
let token: string;
const placeOrder = "/shopmesh.order.v1.OrderService/PlaceOrder";

beforeAll(async () => {
  mesh = await startMesh("caller_deadlines");
  token = await mesh.customerToken(`customer-${randomUUID()}`);
});

afterAll(async () => {
  await mesh?.close();
});

const request = (idempotencyKey: string, sku: string) =>
  create(PlaceOrderRequestSchema, { idempotencyKey, items: [{ sku, quantity: 1 }], paymentToken: "tok_visa" });

/** PlaceOrder over gRPC with a 1 ms deadline: too short for any catalog lookup. */
const placeHurried = (idempotencyKey: string, sku: string) =>
  rawGrpc(
    mesh.ports.order.grpc,
    placeOrder,
    envelope(toBinary(PlaceOrderRequestSchema, request(idempotencyKey, sku))),
    {
      authorization: `Bearer ${token}`,
      "grpc-timeout": "1m",
    },
  );

describe("a PlaceOrder whose caller's deadline runs out while the catalog is asked", () => {
  it("answers DEADLINE_EXCEEDED on every protocol, not UNAVAILABLE 'the catalog is unavailable'", async () => {
    const [product] = products(1, 1_000n);
    if (!product) throw new Error("no product");
    await mesh.seed([product]);
    const sku = product.sku;
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) {
      const overGrpc = randomUUID();
      const overGrpcWeb = randomUUID();
      const overConnect = randomUUID();
      keys.push(overGrpc, overGrpcWeb, overConnect);
      expect((await placeHurried(overGrpc, sku)).status).toBe(Code.DeadlineExceeded);
      const web = await rawGrpcWeb(
        mesh.ports.order.http,
        placeOrder,
        envelope(toBinary(PlaceOrderRequestSchema, request(overGrpcWeb, sku))),
        { authorization: `Bearer ${token}`, "grpc-timeout": "1m" },
      );
      expect(web.status).toBe(Code.DeadlineExceeded);
      const connect = await fetch(`http://127.0.0.1:${mesh.ports.order.http}${placeOrder}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "connect-timeout-ms": "1" },
        body: JSON.stringify({ idempotencyKey: overConnect, items: [{ sku, quantity: 1 }], paymentToken: "tok_visa" }),
      });
      expect(await connect.json()).toMatchObject({ code: "deadline_exceeded" });
    }
    // Each retry with its key, in time, places the order now: none was written before.
    const orders = mesh.orders(token);
    const placed = await Promise.all(
      keys.map((idempotencyKey) =>
        orders.placeOrder({ idempotencyKey, items: [{ sku, quantity: 1 }], paymentToken: "tok_visa" }),
      ),
    );
    expect(new Set(placed.map(({ order }) => order?.orderId)).size).toBe(keys.length);
  });

  it("never places it at a price remembered from before a rise, though inventory is up", async () => {
    const [product] = products(1, 1_000n, 1_000n);
    if (!product) throw new Error("no product");
    await mesh.seed([product]);
    const orders = mesh.orders(token);
    const item = { sku: product.sku, quantity: 1 };
    // An order at 1000: the order service now remembers that price.
    await orders.placeOrder({ idempotencyKey: randomUUID(), items: [item], paymentToken: "tok_visa" });
    await mesh.seed([{ ...product, price: { amountMinor: 5_000n, currency: "USD" } }]);

    const idempotencyKey = randomUUID();
    expect((await placeHurried(idempotencyKey, product.sku)).status).toBe(Code.DeadlineExceeded);
    // The retry a client makes after DEADLINE_EXCEEDED, with the same key.
    const { order } = await orders.placeOrder({ idempotencyKey, items: [item], paymentToken: "tok_visa" });
    expect(order?.total?.amountMinor).toBe(5_000n);
  });
});
