import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { allEvents, createEventCatalog } from "@shopmesh/events";
import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { OrderStatus } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import { OrderService } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import { waitFor } from "@shopmesh/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { orderStatuses, placeOrders, products, stockLevel, stockOf, waitForStatus } from "../src/fixtures.js";
import { checkInvariants } from "../src/invariants.js";
import { type Mesh, startMesh } from "../src/mesh.js";

let mesh: Mesh;
let token: string;
const plenty = products(5, 1_000n);
const lastUnits = products(1, 50n);
const catalog = [...plenty, ...lastUnits];

beforeAll(async () => {
  mesh = await startMesh("resilience");
  await mesh.seed(catalog);
  token = await mesh.customerToken("carol");
});

afterAll(async () => {
  await mesh?.close();
});

/** Carol's orders of one unit of `sku`, 20 in flight at a time unless said. */
const placeMany = (count: number, sku: string, parallel = 20) => placeOrders(mesh.orders(token), sku, count, parallel);

describe("a service that is down catches up when it comes back", () => {
  it("payment stopped while 100 orders are placed: all confirm after it restarts, each charged once", async () => {
    const sku = plenty[0]?.sku ?? "";
    await mesh.stop("payment");
    let ids: string[] = [];
    try {
      ids = await placeMany(100, sku);
      await waitFor(async () => (await orderStatuses(mesh, ids)).reserved === 100, {
        description: "100 orders reserved while payment is down",
        timeoutMs: 30_000,
      });
    } finally {
      await mesh.start("payment");
    }
    await waitFor(async () => (await orderStatuses(mesh, ids)).confirmed === 100, {
      description: "100 orders confirmed after payment restarts",
      timeoutMs: 60_000,
    });
    expect(ids.every((id) => mesh.provider.chargeOf(id)?.outcome?.outcome === "captured")).toBe(true);
    await waitFor(async () => (await stockLevel(mesh, sku)).sold === 100n, { description: "100 reservations sold" });
    expect(await stockLevel(mesh, sku)).toEqual({ available: 900n, reserved: 0n, sold: 100n });
  });

  it("inventory stopped while 100 orders are placed: accepted at recent prices, all confirm after it restarts", async () => {
    const sku = plenty[1]?.sku ?? "";
    const [warm] = await placeMany(1, sku);
    await waitForStatus(mesh, token, warm ?? "");
    await mesh.stop("inventory");
    let ids: string[] = [];
    try {
      ids = await placeMany(100, sku);
      expect((await orderStatuses(mesh, ids)).pending).toBe(100);
    } finally {
      await mesh.start("inventory");
    }
    await waitFor(async () => (await orderStatuses(mesh, ids)).confirmed === 100, {
      description: "100 orders confirmed after inventory restarts",
      timeoutMs: 60_000,
    });
    await waitFor(async () => (await stockLevel(mesh, sku)).sold === 101n, { description: "101 reservations sold" });
    expect(await stockLevel(mesh, sku)).toEqual({ available: 899n, reserved: 0n, sold: 101n });
    const neverPriced = plenty[3]?.sku ?? "";
    await waitFor(async () => (await placeMany(1, neverPriced)).length === 1, {
      description: "order service prices a new SKU again (reconnected to inventory)",
      timeoutMs: 5_000,
    });
  });

  it("200 concurrent orders racing for the last 50 units: exactly 50 confirmed, stock 0, never negative", async () => {
    const sku = lastUnits[0]?.sku ?? "";
    const ids = await placeMany(200, sku, 200);
    await waitFor(
      async () => {
        const statuses = await orderStatuses(mesh, ids);
        return (statuses.confirmed ?? 0) + (statuses.rejected ?? 0) === 200;
      },
      { description: "200 racing orders final", timeoutMs: 60_000 },
    );
    expect(await orderStatuses(mesh, ids)).toEqual({ confirmed: 50, rejected: 150 });
    await waitFor(async () => (await stockLevel(mesh, sku)).sold === 50n, { description: "50 reservations sold" });
    expect(await stockLevel(mesh, sku)).toEqual({ available: 0n, reserved: 0n, sold: 50n });
  });

  it("a poison event lands in the dead-letter stream and the checkout keeps flowing", async () => {
    const nc = await mesh.nats.connect();
    const catalogOfEvents = createEventCatalog(allEvents, mesh.nats.prefix);
    const jsm = await jetstreamManager(nc);
    const deadBefore = (await jsm.streams.info(catalogOfEvents.deadLetterStream)).state.messages;
    await jetstream(nc).publish(
      catalogOfEvents.route(OrderPlacedSchema).subject,
      new TextEncoder().encode("not protobuf"),
    );
    const [after] = await placeMany(1, plenty[2]?.sku ?? "");
    const order = await waitForStatus(mesh, token, after ?? "");
    expect(order.status).toBe(OrderStatus.CONFIRMED);
    await waitFor(async () => (await jsm.streams.info(catalogOfEvents.deadLetterStream)).state.messages > deadBefore, {
      description: "poison event dead-lettered",
    });
    const dead = await jsm.streams.getMessage(catalogOfEvents.deadLetterStream, {
      last_by_subj: catalogOfEvents.deadLetterSubject("inventory"),
    });
    expect(dead?.header.get("Shopmesh-Dead-Letter-Reason")).toBe("undecodable payload");
    expect(dead?.header.get("Shopmesh-Original-Subject")).toBe(catalogOfEvents.route(OrderPlacedSchema).subject);
  });

  it("the dead-letter tool lists the poison event, replays it (parked again: its cause remains) and discards it", async () => {
    // Follows the test above: the poison OrderPlaced is parked by inventory.
    const subject = createEventCatalog(allEvents, mesh.nats.prefix).route(OrderPlacedSchema).subject;
    const parked = async () =>
      (await deadLetters("list", "--consumer", "inventory", "--json")).stdout
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => JSON.parse(line) as { seq: number; reason: string; original: { subject: string } });
    const [poison] = await parked();
    expect(poison).toMatchObject({ reason: "undecodable payload", original: { subject } });

    const replayed = await deadLetters("replay", "--seq", String(poison?.seq));
    expect(replayed.stdout).toContain(`${poison?.seq}: replayed to ${subject}`);
    const again = await waitFor(
      async () => {
        const now = await parked();
        return now.length === 1 && now[0]?.seq !== poison?.seq && now[0];
      },
      { description: "the replayed event parked again by inventory" },
    );
    expect(again.reason).toBe("undecodable payload");

    expect((await deadLetters("discard", "--seq", String(again.seq))).stdout).toContain(`${again.seq}: discarded`);
    expect(await parked()).toEqual([]);
    const missing = await deadLetters("discard", "--seq", String(again.seq)).catch(
      (error: { code?: number; stderr?: string }) => error,
    );
    expect(missing).toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`no dead letter with sequence ${again.seq}`),
    });
  });

  it("an order database that cannot take the work: PlaceOrder and WatchOrder answer UNAVAILABLE, nothing is written, and a retry succeeds", async () => {
    const sku = plenty[3]?.sku ?? "";
    const orders = mesh.orders(token);
    // More requests than the order service's pool has connections (DB_POOL_SIZE 10): the
    // first ten wait for the table lock past lock_timeout, the others for a connection
    // past DB_ACQUIRE_TIMEOUT_MS — both say "busy", neither is an internal error.
    const keys = Array.from({ length: 14 }, () => randomUUID());
    const place = (idempotencyKey: string) =>
      orders.placeOrder(
        { idempotencyKey, items: [{ sku, quantity: 1 }], paymentToken: "tok_visa" },
        { timeoutMs: 10_000 },
      );
    const { order: watched } = await place(randomUUID());
    await waitForStatus(mesh, token, watched?.orderId ?? "");
    // A stream's handler reads while its messages are pulled, after the interceptors
    // returned: over gRPC (HTTP/2) and the Connect protocol (HTTP/1.1) alike.
    const watch = async (transport: Transport) => {
      const watching = createClient(OrderService, transport).watchOrder(
        { orderId: watched?.orderId ?? "" },
        { headers: { authorization: `Bearer ${token}` }, timeoutMs: 10_000 },
      );
      for await (const _ of watching) break;
    };
    const transports = [
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${mesh.ports.order.grpc}` }),
      createConnectTransport({ baseUrl: `http://127.0.0.1:${mesh.ports.order.http}`, httpVersion: "1.1" }),
    ];
    const locker = await mesh.pools.order.connect();
    let codes: string[];
    try {
      await locker.query("BEGIN");
      await locker.query("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE");
      const results = await Promise.allSettled([...keys.map(place), ...transports.map(watch)]);
      codes = results.map((result) =>
        result.status === "fulfilled" ? "OK" : (Code[ConnectError.from(result.reason).code] ?? "?"),
      );
    } finally {
      await locker.query("ROLLBACK");
      locker.release();
    }
    expect(new Set(codes)).toEqual(new Set(["Unavailable"]));
    const written = await mesh.pools.order.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM orders WHERE idempotency_key = ANY($1)",
      [keys],
    );
    expect(written.rows[0]?.n).toBe(0);
    const { order } = await place(keys[0] ?? "");
    expect((await waitForStatus(mesh, token, order?.orderId ?? "")).status).toBe(OrderStatus.CONFIRMED);
  });

  it("every connection to the mesh's databases cut, again and again, while 100 orders are placed (a PostgreSQL restart or failover): no service ends, all confirm, each charged once", async () => {
    const sku = plenty[4]?.sku ?? "";
    const orders = mesh.orders(token);
    const databases = await Promise.all(
      Object.values(mesh.pools).map(
        async (pool) => (await pool.query("SELECT current_database() AS name")).rows[0].name,
      ),
    );
    // Every backend of the services (the test's own pools are "e2e"), in the middle of
    // whatever transaction it runs: the server ends them as a restart would.
    const cutEveryConnection = async () =>
      (
        await mesh.pools.order.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
            WHERE datname = ANY($1) AND application_name <> 'e2e'`,
          [databases],
        )
      ).rows[0]?.n ?? 0;
    // A client retries UNAVAILABLE with the same idempotency key, and gets the one order.
    const place = (idempotencyKey: string) =>
      waitFor(
        async () => {
          try {
            const { order } = await orders.placeOrder({
              idempotencyKey,
              items: [{ sku, quantity: 1 }],
              paymentToken: "tok_visa",
            });
            return order?.orderId;
          } catch (error) {
            if (ConnectError.from(error).code === Code.Unavailable) return undefined;
            throw error;
          }
        },
        { description: `order ${idempotencyKey} accepted`, timeoutMs: 30_000 },
      );
    const ids: string[] = [];
    const cut: number[] = [];
    for (let round = 0; round < 10; round++) {
      // The saga of the rounds before is under way: consumers and relays lose their connections mid-batch.
      cut.push(await cutEveryConnection());
      ids.push(...(await Promise.all(Array.from({ length: 10 }, () => place(randomUUID())))));
    }
    expect(cut.every((n) => n > 0)).toBe(true);
    expect(new Set(ids).size).toBe(100);
    await waitFor(async () => (await orderStatuses(mesh, ids)).confirmed === 100, {
      description: "100 orders confirmed through the cuts",
      timeoutMs: 60_000,
    });
    expect(ids.every((id) => mesh.provider.chargeOf(id)?.outcome?.outcome === "captured")).toBe(true);
    await waitFor(async () => (await stockLevel(mesh, sku)).sold === 100n, { description: "100 reservations sold" });
    expect(await stockLevel(mesh, sku)).toEqual({ available: 900n, reserved: 0n, sold: 100n });
  });

  it("keeps every invariant: orders final, one charge per order, money and stock conserved", async () => {
    const report = await checkInvariants(mesh, stockOf(catalog));
    expect(report.unfinished).toEqual([]);
    expect(report.moneyProblems).toEqual([]);
    expect(report.stockProblems).toEqual([]);
    expect(report.capturedMinor).toBe(report.confirmedMinor);
  });
});

/** Runs `npm run deadletters -- …` against the mesh's NATS namespace. */
function deadLetters(...args: string[]) {
  return promisify(execFile)(process.execPath, ["tools/tsx.mjs", "packages/events/src/cli/dead-letters.ts", ...args], {
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    env: { ...process.env, NATS_URL: mesh.nats.url, EVENT_NAMESPACE: mesh.nats.prefix },
  });
}
