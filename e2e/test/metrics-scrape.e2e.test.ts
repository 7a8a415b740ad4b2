import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { createPool, migrate } from "@shopmesh/pg";
import { observeService } from "@shopmesh/runtime";
import { installMetricReader, startTcpProxy, useTestDatabase, useTestNats } from "@shopmesh/testing";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";

const measured = installMetricReader();
const db = useTestDatabase("metrics scrape");
const testNats = useTestNats("metrics scrape");
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("a service's metrics while its database stops answering", () => {
  it("are still collected: a gauge read that gets no answer is given up", async () => {
    await migrate({
      databaseUrl: db.url,
      dir: fileURLToPath(new URL("../../packages/events/migrations", import.meta.url)),
    });
    const proxy = await startTcpProxy(db.url);
    const pool = createPool({
      url: proxy.url,
      applicationName: "metrics-scrape",
      max: 2,
      onError: () => undefined,
    });
    cleanups.push(
      () => pool.end(),
      () => proxy.close(),
    ); // the proxy closes first, failing the stuck query
    await pool.query(
      "INSERT INTO outbox (event_id, subject, event_type, payload, headers) VALUES (gen_random_uuid(), 's', 't', '', '{}')",
    );
    const nc = await testNats.connect();
    const stop = observeService({
      pools: { relay: pool },
      outboxPool: pool,
      jsm: await jetstreamManager(nc),
      consumers: [],
      logger: pino({ level: "silent" }),
    });
    cleanups.push(stop);

    expect((await measured.collect()).total("shopmesh.outbox.backlog")).toBe(1);
    proxy.silence();
    // Prometheus's scrape waits for every gauge: one read never answered (statement_timeout
    // is the server's) would time the scrape out, and the live service would look down.
    await measured.collect();
    // The next collection too — and the first one's read still holds its connection, unanswered.
    const next = await measured.collect();
    expect(next.total("shopmesh.db.pool.connections", { pool: "relay", state: "used" })).toBe(1);
  }, 30_000);
});
