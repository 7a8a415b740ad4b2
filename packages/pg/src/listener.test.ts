import { randomUUID } from "node:crypto";
import { createTestPool, startTcpProxy, useTestDatabase, waitFor } from "@shopmesh/testing";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createListener } from "./listener.js";

const db = useTestDatabase("pg listener");
let admin: pg.Pool;

beforeAll(() => {
  admin = createTestPool({ connectionString: db.url, max: 2 });
});
afterAll(() => admin.end());

/** A proxy to the test PostgreSQL that can reset the first connection that sends LISTEN. */
function startProxy(options: { resetOnListen?: boolean } = {}) {
  return startTcpProxy(db.url, options.resetOnListen ? { resetOnce: (data) => data.includes("LISTEN") } : {});
}

const connections = async (applicationName: string) =>
  (
    await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [
      applicationName,
    ])
  ).rows[0]?.n;

describe("a LISTEN connection", () => {
  it("notices a connection the network silently stopped carrying, and listens again", async () => {
    const proxy = await startProxy();
    const channel = `silenced_${randomUUID().slice(0, 8)}`;
    const received: string[] = [];
    let connects = 0;
    const listener = createListener({
      url: proxy.url,
      channel,
      applicationName: "listener-test-silenced",
      onNotify: (payload) => received.push(payload),
      onConnect: () => connects++,
      onError: () => {},
      reconnectMs: 50,
      heartbeat: { everyMs: 200, timeoutMs: 300 },
    });
    try {
      await waitFor(() => connects === 1, { description: "the first connection" });
      proxy.silence();
      await waitFor(() => connects === 2, { description: "a new connection after the silent one was found out" });
      await admin.query("SELECT pg_notify($1, 'after')", [channel]);
      await waitFor(() => received.includes("after"), { description: "the notification on the new connection" });
    } finally {
      await listener.close();
      await proxy.close();
    }
  });

  it("reconnects once when the connection is lost while LISTEN is in flight, and closes what it opened", async () => {
    const proxy = await startProxy({ resetOnListen: true });
    const channel = `reset_${randomUUID().slice(0, 8)}`;
    const applicationName = `listener-test-${randomUUID().slice(0, 8)}`;
    const received: string[] = [];
    let connects = 0;
    const listener = createListener({
      url: proxy.url,
      channel,
      applicationName,
      onNotify: (payload) => received.push(payload),
      onConnect: () => connects++,
      onError: () => {},
      reconnectMs: 50,
    });
    try {
      await waitFor(() => connects >= 1, { description: "the listener connected again" });
      await admin.query("SELECT pg_notify($1, 'once')", [channel]);
      await waitFor(() => received.length > 0, { description: "the notification" });
      await admin.query("SELECT pg_notify($1, 'marker')", [channel]);
      await waitFor(() => received.includes("marker"), { description: "a second notification" });
      expect(received).toEqual(["once", "marker"]);
      expect(connects).toBe(1);
    } finally {
      await listener.close();
      await proxy.close();
    }
    await waitFor(async () => (await connections(applicationName)) === 0, {
      description: "no connection left after close",
    });
  });
});
