import { testInfrastructure } from "@shopmesh/testing";
import { describe, expect, it } from "vitest";
import { runScaleScenario, type ScaleReport } from "../src/scale-run.js";

/** Backends an upstream used, each with its share of the requests. */
function shares(counts: Record<string, number> | undefined): number[] {
  const values = Object.entries(counts ?? {})
    .filter(([backend]) => backend !== "-")
    .map(([, count]) => count);
  const total = values.reduce((sum, count) => sum + count, 0);
  return values.map((count) => count / total);
}

describe("two replicas of every service behind nginx, one of each killed mid-run", () => {
  let report: ScaleReport;

  it("acknowledges every order and loses or duplicates none", { timeout: 300_000 }, async () => {
    const { databaseUrl, natsUrl } = testInfrastructure();
    report = await runScaleScenario({
      postgresUrl: databaseUrl,
      natsUrl,
      replicas: 2,
      orders: 60,
      concurrency: 6,
      killAfter: 30,
    });
    expect(report.acknowledged).toBe(60);
    expect(report.killedReplica).toBe(0);
    expect(report.problems).toEqual([]);
    expect(Object.values(report.statuses).reduce((sum, count) => sum + count, 0)).toBe(60);
  });

  it("spread gRPC and Connect calls over both replicas while both were up", () => {
    for (const upstream of ["orderGrpc", "orderConnect", "catalogConnect"] as const) {
      const split = shares(report.edgeBeforeKill?.[upstream]);
      expect(split, upstream).toHaveLength(2);
      for (const share of split) expect(share, upstream).toBeGreaterThan(0.25);
    }
  });

  it("let both replicas of each consumer apply events and both relays publish", () => {
    for (const consumer of ["inventory", "order", "payment"]) {
      const byReplica = Object.values(report.consumers[consumer] ?? {});
      expect(byReplica, consumer).toHaveLength(2);
      for (const count of byReplica) expect(count, consumer).toBeGreaterThan(0);
    }
    for (const service of ["order", "inventory", "payment"]) {
      const byReplica = Object.entries(report.relays[service] ?? {});
      expect(byReplica.map(([role]) => role).sort(), service).toEqual(report.replicaRoles);
    }
    for (const [stream, { messages, outboxRows }] of Object.entries(report.streams))
      expect(messages, stream).toBe(outboxRows);
  });
});
