import { startTcpProxy, testInfrastructure, waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { orderStatuses, placeOrders, products } from "../src/fixtures.js";
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

      const before = await placeOrders(orders, sku, 20);
      await waitFor(async () => (await orderStatuses(mesh as Mesh, before)).confirmed === 20, {
        description: "20 orders confirmed first",
      });
      proxy.silence();
      const after = await placeOrders(orders, sku, 30);
      // With nats.js's default (a ping every 2 minutes, two unanswered) this takes 4-6 minutes.
      await waitFor(async () => (await orderStatuses(mesh as Mesh, after)).confirmed === 30, {
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
