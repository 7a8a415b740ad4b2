import { jetstreamManager } from "@nats-io/jetstream";
import { Health, HealthCheckResponse_ServingStatus } from "@shopmesh/gen/grpc/health/v1/health_pb.js";
import { createGrpcClient } from "@shopmesh/server";
import { createTestNats, startTcpProxy, testInfrastructure } from "@shopmesh/testing";
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
      await proxy.close();
      // The mesh's own clean-up went through the closed proxy: delete its streams directly.
      const direct = createTestNats("mesh_close");
      const nc = await direct.connect();
      const jsm = await jetstreamManager(nc);
      for await (const name of jsm.streams.names()) {
        if (name.startsWith(`${mesh.nats.prefix}_`)) await jsm.streams.delete(name);
      }
      await direct.cleanup();
    }
  }, 90_000);
});
