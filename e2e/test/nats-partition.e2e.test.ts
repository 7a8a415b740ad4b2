import { randomUUID } from "node:crypto";
import { startTcpProxy, testInfrastructure, waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { products } from "../src/fixtures.js";
import { type Mesh, startMesh } from "../src/mesh.js";

describe("a network that silently stops carrying the services' NATS connections", () => {
  it("is noticed within a few ping intervals: the services reconnect and every order confirms", async () => {
    // No reset, no FIN: what a NATS node that dies with its host, or a dropped route,
    // leaves behind. Connections made afterwards are carried again.
    const proxy = await startTcpProxy(testInfrastructure().natsUrl);
    let mesh: Mesh | undefined;
    try {
      mesh = await startMesh("nats_partition", { NATS_PING_INTERVAL_MS: "500" }, proxy.url);
      const catalog = products(1, 1_000n);
      const sku = catalog[0]?.sku ?? "";
      await mesh.seed(catalog);
      const orders = mesh.orders(await mesh.customerToken("erin"));
      const placeMany = (count: number) =>
        Promise.all(
          Array.from({ length: count }, async () => {
            const { order } = await orders.placeOrder({
              idempotencyKey: randomUUID(),
              items: [{ sku, quantity: 1 }],
              paymentToken: "tok_visa",
            });
            return order?.orderId ?? "";
          }),
        );
      const confirmed = async (ids: readonly string[]) =>
        (
          await (mesh as Mesh).pools.order.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM orders WHERE order_id = ANY($1) AND status = 'confirmed'",
            [ids],
          )
        ).rows[0]?.n;

      const before = await placeMany(20);
      await waitFor(async () => (await confirmed(before)) === 20, { description: "20 orders confirmed first" });
      proxy.silence();
      const after = await placeMany(30);
      // With nats.js's default (a ping every 2 minutes, two unanswered) this takes 4-6 minutes.
      await waitFor(async () => (await confirmed(after)) === 30, {
        description: "30 orders placed after the partition confirmed",
        timeoutMs: 30_000,
      });
      expect(mesh.provider.chargeOf(after[0] ?? "")?.outcome?.outcome).toBe("captured");

      // Stopping while partitioned ends too: draining a connection nothing answers on
      // waits for the pings to give it up, not for ever.
      proxy.silence();
      const closing = mesh.close();
      mesh = undefined;
      await closing;
    } finally {
      // A failed run leaves the mesh on silent connections: drop them, so that it drains on new ones.
      if (mesh) {
        proxy.reset();
        await mesh.close();
      }
      await proxy.close();
    }
  }, 90_000);
});
