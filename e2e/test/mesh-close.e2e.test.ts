import { jetstreamManager } from "@nats-io/jetstream";
import { Health, HealthCheckResponse_ServingStatus } from "@shopmesh/gen/grpc/health/v1/health_pb.js";
import { createGrpcClient, within } from "@shopmesh/server";
import { createTestNats, startTcpProxy, type TcpProxy, testInfrastructure } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { startMesh } from "../src/mesh.js";

// The e2e mesh stops every service, whichever failed to shut down before it: a
// service left running would go on against a database and streams its clean-up drops.
describe("a mesh whose services' shutdown fails (NATS gone)", () => {
  it("still stops every service", async () => {
    const proxy = await startTcpProxy(testInfrastructure().natsUrl);
    const mesh = await startMesh("mesh_close", {}, proxy.url);
    const health = createGrpcClient(Health, {
      target: `127.0.0.1:${mesh.ports.inventory.grpc}`,
      defaultTimeoutMs: 500,
    });
    try {
      await proxy.close(); // every service's drain will fail
      const closing = await mesh.close().then(
        () => "closed",
        (error: unknown) => `rejected: ${String(error)}`,
      );
      expect(closing).toMatch(/^rejected/); // the failure is reported
      // Inventory, stopped after order, is gone too.
      const inventory = await health.check({ service: "" }).then(
        (answer) => (answer.status === HealthCheckResponse_ServingStatus.SERVING ? "SERVING" : "not serving"),
        () => "gone",
      );
      expect(inventory).toBe("gone");
    } finally {
      health.close();
      await deleteStreamsBehind(proxy, mesh.nats.prefix);
    }
  }, 90_000);
});

// A network that goes silent (a partition, a node that stopped answering) leaves a
// NATS drain waiting until the client's pings fail — twice NATS_PING_INTERVAL_MS — and
// then again after it reconnects into the same silence: 70 s measured, past every
// platform's grace, which then kills the process before its pools close and its last
// spans are exported.
describe("a service whose NATS network goes silent", () => {
  it("stops within its shutdown budget", async () => {
    const proxy = await startTcpProxy(testInfrastructure().natsUrl);
    const mesh = await startMesh("mesh_silent", {}, proxy.url);
    try {
      proxy.partition();
      // Order's budget at the mesh's settings (deploy/src/shutdown-budget.ts): RPCs drain
      // for SHUTDOWN_GRACE_MS (3 s), consumers hand back after 10 s, closing takes 10 s.
      const budgetMs = (3 + 10 + 10) * 1000;
      const stopped = await within(
        mesh.stop("order").then(
          () => "stopped",
          () => "stopped, reporting a failed step",
        ),
        budgetMs,
        () => new Error(`still stopping after order's shutdown budget, ${budgetMs} ms`),
      );
      expect(stopped).toMatch(/^stopped/);
    } finally {
      await mesh.close().catch(() => undefined); // the other services' drains fail the same way
      await deleteStreamsBehind(proxy, mesh.nats.prefix);
    }
  }, 120_000);
});

/** The mesh's own clean-up went through the proxy, which carried nothing: deletes its streams directly. */
async function deleteStreamsBehind(proxy: TcpProxy, prefix: string) {
  await proxy.close();
  const direct = createTestNats("mesh_close");
  const nc = await direct.connect();
  const jsm = await jetstreamManager(nc);
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`${prefix}_`)) await jsm.streams.delete(name);
  }
  await direct.cleanup();
}
