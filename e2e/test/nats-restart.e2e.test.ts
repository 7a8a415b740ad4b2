import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type PrivateServer, startPrivateNats, waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { orderStatuses, placeOrder, placeOrders, products, stockLevel, stockOf } from "../src/fixtures.js";
import { checkInvariants } from "../src/invariants.js";
import { type Mesh, startMesh } from "../src/mesh.js";

describe("a NATS server that crashes and restarts while orders are placed", () => {
  it("loses no event: every order placed before, during and after the outage confirms, each charged once", async () => {
    // A server of this test's own, on a port and store that survive its restart: the
    // shared one serves every other test.
    const dir = await mkdtemp(join(tmpdir(), "shopmesh-nats-restart-"));
    const port = await freePort();
    let nats: PrivateServer | undefined = await startPrivateNats({ dir, port });
    let mesh: Mesh | undefined;
    try {
      mesh = await startMesh("nats_restart", {}, nats.url);
      const catalog = products(1, 1_000n);
      const sku = catalog[0]?.sku ?? "";
      await mesh.seed(catalog);
      const orders = mesh.orders(await mesh.customerToken("dana"));

      // Their sagas under way when the server goes: it is killed as the 20th of 40
      // PlaceOrders answers, with events in flight, on streams and in outboxes. A crash, not
      // a shutdown: what JetStream had acknowledged is on disk, the rest lost in flight.
      const { pid } = nats;
      let answered = 0;
      const before = await Promise.all(
        Array.from({ length: 40 }, async () => {
          const orderId = await placeOrder(orders, sku);
          if (++answered === 20) process.kill(pid, "SIGKILL");
          return orderId;
        }),
      );
      await nats.stop();
      nats = undefined;
      expect((await orderStatuses(mesh, before)).confirmed ?? 0).toBeLessThan(40);
      // PlaceOrder needs no NATS: the order and its event wait in the outbox.
      const during = await placeOrders(orders, sku, 30);
      expect(await orderStatuses(mesh, during)).toEqual({ pending: 30 });
      nats = await startPrivateNats({ dir, port });
      const after = await placeOrders(orders, sku, 30);

      const ids = [...before, ...during, ...after];
      expect(new Set(ids).size).toBe(100);
      await waitFor(async () => (await orderStatuses(mesh as Mesh, ids)).confirmed === 100, {
        description: "100 orders confirmed after the restart",
        timeoutMs: 90_000,
      });
      expect(ids.every((id) => mesh?.provider.chargeOf(id)?.outcome?.outcome === "captured")).toBe(true);
      await waitFor(async () => (await stockLevel(mesh as Mesh, sku)).sold === 100n, {
        description: "100 reservations sold",
      });
      const report = await checkInvariants(mesh, stockOf(catalog));
      expect(report.unfinished).toEqual([]);
      expect(report.moneyProblems).toEqual([]);
      expect(report.stockProblems).toEqual([]);
    } finally {
      await mesh?.close();
      await nats?.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
