import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Health, HealthCheckResponse_ServingStatus } from "@shopmesh/gen/grpc/health/v1/health_pb.js";
import { createGrpcClient } from "@shopmesh/server";
import { freePort, testInfrastructure, useTestDatabase, useTestNats, waitFor } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { dropMeshDatabases, freeMeshPorts, launchMesh } from "../../tools/mesh-processes.js";

const database = useTestDatabase("process");
const nats = useTestNats("process");
const orderMain = fileURLToPath(new URL("../../services/order/src/main.ts", import.meta.url));

/** Runs the order service as its own process, as `npm start` and the images do. */
function runOrderProcess(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ["--conditions=@shopmesh/source", "--import", "tsx", orderMain], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe("a service as a real process", () => {
  it("serves, then on SIGTERM stops serving, drains and exits 0", async () => {
    const grpcPort = await freePort();
    const service = runOrderProcess({
      DATABASE_URL: database.url,
      NATS_URL: nats.url,
      EVENT_NAMESPACE: nats.prefix,
      GRPC_ADDRESS: `127.0.0.1:${grpcPort}`,
      HTTP_ADDRESS: `127.0.0.1:${await freePort()}`,
      AUTH_DEV_KEY: randomBytes(32).toString("base64url"),
    });
    const health = createGrpcClient(Health, { target: `127.0.0.1:${grpcPort}`, defaultTimeoutMs: 500 });
    try {
      await waitFor(
        async () =>
          (await health.check({ service: "shopmesh.order.v1.OrderService" })).status ===
          HealthCheckResponse_ServingStatus.SERVING,
        { timeoutMs: 30_000, description: "order process SERVING" },
      );
      expect(service.child.kill("SIGTERM")).toBe(true);
      expect(await service.exited).toBe(0);
      expect(service.output()).toMatch(/"msg":"shutting down"/);
      expect(service.output()).toMatch(/"msg":"stopped serving"/);
    } finally {
      health.close();
      service.child.kill("SIGKILL");
    }
  });

  it("refuses to start with a clear message naming every invalid variable", async () => {
    const service = runOrderProcess({
      GRPC_ADDRESS: "not-an-address",
      INVENTORY_TIMEOUT_MS: "-5",
      AUTH_DEV_KEY: "short",
      // Meant as 50 minutes, and past what a timer can wait.
      SHUTDOWN_GRACE_MS: "3000000000",
      LOG_LEVEL: "verbose",
    });
    expect(await service.exited).not.toBe(0);
    const output = service.output();
    expect(output).toMatch(/^invalid configuration:\n/);
    expect(output).not.toMatch(/\bat .*\.ts:\d+/);
    for (const variable of [
      "DATABASE_URL",
      "GRPC_ADDRESS",
      "AUTH_DEV_KEY",
      "INVENTORY_TIMEOUT_MS",
      "SHUTDOWN_GRACE_MS",
      "LOG_LEVEL",
    ]) {
      expect(output).toContain(variable);
    }
  });

  it("a mesh whose service cannot start fails at once, with that service's last output", async () => {
    const databasePrefix = `t_launch_${randomBytes(5).toString("hex")}`;
    const adminUrl = testInfrastructure().databaseUrl;
    try {
      // A signing key too short to use: every service refuses its configuration and exits.
      const launched = launchMesh({
        postgresUrl: adminUrl,
        natsUrl: nats.url,
        authDevKey: "short",
        databasePrefix,
        ports: await freeMeshPorts(),
        env: { EVENT_NAMESPACE: nats.prefix },
        onLine: () => {},
        onExit: () => {},
      });
      await expect(launched).rejects.toThrow(
        /^inventory exited \(code 1\) before reporting SERVING on :\d+; its last output:\n[\s\S]*AUTH_DEV_KEY/,
      );
    } finally {
      await dropMeshDatabases(adminUrl, databasePrefix);
    }
  });
});
