import { createServer, type Socket, connect as tcpConnect } from "node:net";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import { createPool, migrate } from "@shopmesh/pg";
import { observeService } from "@shopmesh/runtime";
import { useTestDatabase, useTestNats } from "@shopmesh/testing";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { installMetricReader } from "../src/metric-reader.js";

const measured = installMetricReader();
const db = useTestDatabase("metrics scrape");
const testNats = useTestNats("metrics scrape");
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A TCP proxy that can stop forwarding while keeping its connections open: a network partition. */
async function partitionableProxy(target: URL) {
  const sockets: Socket[] = [];
  let partitioned = false;
  const server = createServer((client) => {
    const upstream = tcpConnect(Number(target.port || 5432), target.hostname);
    sockets.push(client, upstream);
    client.on("data", (chunk) => partitioned || upstream.write(chunk));
    upstream.on("data", (chunk) => partitioned || client.write(chunk));
    client.on("error", () => undefined);
    upstream.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    partition: () => {
      partitioned = true;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

describe("a service's metrics while its database stops answering", () => {
  it("are still collected: a gauge read that gets no answer is given up", async () => {
    await migrate({
      databaseUrl: db.url,
      dir: fileURLToPath(new URL("../../packages/events/migrations", import.meta.url)),
    });
    const proxy = await partitionableProxy(new URL(db.url));
    const viaProxy = new URL(db.url);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    const pool = createPool({
      url: viaProxy.toString(),
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
    proxy.partition();
    // Prometheus's scrape waits for every gauge: one read never answered (statement_timeout
    // is the server's) would time the scrape out, and the live service would look down.
    await measured.collect();
    // The next collection too — and the first one's read still holds its connection, unanswered.
    const next = await measured.collect();
    expect(next.total("shopmesh.db.pool.connections", { pool: "relay", state: "used" })).toBe(1);
  }, 30_000);
});
