import { randomBytes, randomUUID } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { OrderService } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import { createGrpcClient } from "@shopmesh/server";
import { createTestNats, waitFor } from "@shopmesh/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readMetricsList, seriesOf } from "../../tools/metrics-list.mjs";
import { products } from "../src/fixtures.js";
import { type ReceivedSpan, SpanKinds } from "../src/otlp-receiver.js";
import { type ServiceName, startTracedMesh, type TracedMesh } from "../src/traced-mesh.js";

// The services run as real processes, started the way the images start them (the
// telemetry register file imported first), exporting OTLP/HTTP JSON to a local receiver.
const services: ServiceName[] = ["order", "inventory", "payment"];
const inStock = products(2, 100n);
const soldOut = products(1, 0n);
const logs: { service: ServiceName; line: string }[] = [];
let mesh: TracedMesh;
let token: string;

beforeAll(async () => {
  mesh = await startTracedMesh("telemetry", {
    env: { LOG_LEVEL: "debug" },
    onLine: (service, line) => logs.push({ service, line }),
  });
  await mesh.seed([...inStock, ...soldOut]);
  token = await mesh.customerToken(`customer-${randomUUID()}`);
}, 120_000);

afterAll(() => mesh?.close(), 60_000);

const port = (name: ServiceName, listener: "grpc" | "http" | "metrics") => mesh.port(name, listener);
const spans = () => mesh.receiver.spans;

/** A checkout over the Connect protocol (JSON), as a browser places one, to its final status. */
const checkout = (sku: string, paymentToken: string, traceparent?: string) =>
  mesh.checkout(token, { sku, paymentToken, headers: traceparent ? { traceparent } : {} });

/** The PlaceOrder server span of an order: where its trace starts in the mesh. */
function placeOrderSpan(orderId: string): ReceivedSpan | undefined {
  return spans().find(
    (span) =>
      span.name === "shopmesh.order.v1.OrderService/PlaceOrder" && span.attributes["shopmesh.order.id"] === orderId,
  );
}

const subjectOf = (span: ReceivedSpan) => String(span.attributes["messaging.destination.name"] ?? "");
const event = (span: ReceivedSpan, suffix: string) => subjectOf(span) === `${mesh.namespace}.${suffix}`;

/**
 * What the trace of an order still lacks: a producer span for each expected event
 * with a consumer span as its child, server and SQL spans, and a parent for every span.
 */
function gapsInTrace(orderId: string, expected: Expected, remoteParent?: string): string[] {
  const { events, sql } = expected;
  const root = placeOrderSpan(orderId);
  if (!root) return ["the PlaceOrder server span"];
  const trace = spans().filter((span) => span.traceId === root.traceId);
  const ids = new Set(trace.map((span) => span.spanId));
  const gaps: string[] = [];
  for (const suffix of events) {
    const producer = trace.find((span) => span.kind === SpanKinds.producer && event(span, suffix));
    if (!producer) gaps.push(`a producer span for ${suffix}`);
    else if (!trace.some((span) => span.kind === SpanKinds.consumer && span.parentSpanId === producer.spanId)) {
      gaps.push(`a consumer span for ${suffix}`);
    }
  }
  if (!trace.some((span) => span.kind === SpanKinds.server && span.service === "inventory")) {
    gaps.push("inventory's BatchGetProducts server span");
  }
  for (const service of sql) {
    if (!trace.some((span) => span.service === service && span.attributes["db.system.name"] === "postgresql")) {
      gaps.push(`SQL spans of ${service}`);
    }
  }
  for (const span of trace) {
    const parentKnown = span.parentSpanId === "" ? false : ids.has(span.parentSpanId);
    if (!parentKnown && !(span === root && (remoteParent === undefined || span.parentSpanId === remoteParent))) {
      gaps.push(`the parent of ${span.service} span "${span.name}"`);
    }
  }
  return gaps;
}

/** The events a checkout publishes and the services whose SQL it runs. */
interface Expected {
  readonly events: readonly string[];
  readonly sql: readonly ServiceName[];
}

async function expectOneConnectedTrace(orderId: string, expected: Expected, remoteParent?: string) {
  await waitFor(() => gapsInTrace(orderId, expected, remoteParent).length === 0, {
    timeoutMs: 20_000,
    description: `the trace of order ${orderId} to be complete`,
  }).catch(() => undefined);
  expect(gapsInTrace(orderId, expected, remoteParent)).toEqual([]);
  const traceId = placeOrderSpan(orderId)?.traceId;
  const aboutOrder = spans().filter((span) => span.attributes["shopmesh.order.id"] === orderId);
  expect(new Set(aboutOrder.map((span) => span.traceId))).toEqual(new Set([traceId]));
  return spans().filter((span) => span.traceId === traceId);
}

describe("one checkout is one trace", () => {
  it("continues the caller's trace through every hop to CONFIRMED", async () => {
    const callerTrace = randomBytes(16).toString("hex");
    const callerSpan = randomBytes(8).toString("hex");
    const order = await checkout(inStock[0]?.sku ?? "", "tok_visa", `00-${callerTrace}-${callerSpan}-01`);
    expect(order.status).toBe("ORDER_STATUS_CONFIRMED");
    const trace = await expectOneConnectedTrace(
      order.orderId,
      { events: ["orders.placed", "inventory.stock.reserved", "payments.captured", "orders.confirmed"], sql: services },
      callerSpan,
    );
    expect(trace[0]?.traceId).toBe(callerTrace);
    // A transaction's BEGIN leaves with its first statement and gets no span; its COMMIT does.
    expect(trace.some((span) => span.name.startsWith("pg.query:COMMIT"))).toBe(true);
    expect(trace.filter((span) => span.name.startsWith("pg.query:BEGIN")).map((span) => span.name)).toEqual([]);
    const served = trace.find((span) => span.name === "shopmesh.order.v1.OrderService/PlaceOrder");
    expect(served?.attributes).toMatchObject({
      "rpc.system": "connect_rpc",
      "rpc.service": "shopmesh.order.v1.OrderService",
      "rpc.method": "PlaceOrder",
      "rpc.grpc.status_code": 0,
      "shopmesh.order.sku_count": 1,
    });
    const payment = trace.find((span) => span.service === "payment" && span.name === "payment provider charge");
    expect(payment?.attributes["shopmesh.payment.outcome"]).toBe("captured");
    const consumed = trace.find(
      (span) => span.kind === SpanKinds.consumer && span.service === "inventory" && event(span, "orders.placed"),
    );
    expect(consumed?.attributes).toMatchObject({
      "messaging.system": "nats",
      "messaging.consumer.group.name": "inventory",
      "messaging.nats.delivery_count": 1,
      "shopmesh.order.id": order.orderId,
      "shopmesh.consumer.outcome": "applied",
    });
  });

  it("shows a declined card's compensation in the same trace", async () => {
    const order = await checkout(inStock[1]?.sku ?? "", "tok_declined");
    expect(order.status).toBe("ORDER_STATUS_CANCELLED");
    const trace = await expectOneConnectedTrace(order.orderId, {
      events: ["orders.placed", "inventory.stock.reserved", "payments.declined", "orders.cancelled"],
      sql: services,
    });
    // Payment's consumer span also answers for orders.cancelled; inventory's may be exported later.
    const release = await waitFor(
      () =>
        spans().find(
          (span) =>
            span.traceId === trace[0]?.traceId &&
            span.kind === SpanKinds.consumer &&
            span.service === "inventory" &&
            event(span, "orders.cancelled"),
        ),
      { timeoutMs: 20_000, description: "inventory's consumer span for orders.cancelled" },
    );
    expect(release.attributes["shopmesh.consumer.outcome"]).toBe("applied");
  });

  it("shows a CancelOrder after capture as one trace, to the refund and the release, every span tagged", async () => {
    const order = await checkout(inStock[1]?.sku ?? "", "tok_visa");
    expect(order.status).toBe("ORDER_STATUS_CONFIRMED");
    const traceId = randomBytes(16).toString("hex");
    const callerSpan = randomBytes(8).toString("hex");
    const orders = createClient(
      OrderService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${port("order", "http")}`, httpVersion: "1.1" }),
    );
    await orders.cancelOrder(
      { orderId: order.orderId, reason: "changed my mind" },
      { headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${callerSpan}-01` } },
    );
    const inTrace = () => spans().filter((span) => span.traceId === traceId);
    // Every span of the cancellation's trace has its parent in it; the last ones to come
    // are the refund's and inventory's release of the stock.
    const unparented = () => {
      const ids = new Set(inTrace().map((span) => span.spanId));
      return inTrace().filter((span) => span.parentSpanId !== callerSpan && !ids.has(span.parentSpanId));
    };
    const complete = () =>
      inTrace().some((span) => span.name === "payment provider refund") &&
      inTrace().some(
        (span) => span.kind === SpanKinds.consumer && span.service === "inventory" && event(span, "orders.cancelled"),
      ) &&
      unparented().length === 0;
    await waitFor(complete, { timeoutMs: 20_000, description: "the cancellation's trace to be complete" }).catch(
      () => undefined,
    );
    expect(unparented().map((span) => `${span.service} "${span.name}"`)).toEqual([]);
    const refund = inTrace().find((span) => span.name === "payment provider refund");
    expect(refund?.attributes["shopmesh.order.id"]).toBe(order.orderId);
    expect(
      inTrace().some((span) => span.service === "inventory" && event(span, "orders.cancelled")),
      "inventory's release in the trace",
    ).toBe(true);
  });

  it("shows an out-of-stock rejection in one trace", async () => {
    const order = await checkout(soldOut[0]?.sku ?? "", "tok_visa");
    expect(order.status).toBe("ORDER_STATUS_REJECTED");
    // Payment never hears of an order without stock: no payment SQL in this trace.
    await expectOneConnectedTrace(order.orderId, {
      events: ["orders.placed", "inventory.stock.rejected", "orders.rejected"],
      sql: ["order", "inventory"],
    });
  });
});

describe("trace context in request headers", () => {
  it("is continued from gRPC metadata and from gRPC-Web headers, as from Connect", async () => {
    const order = await checkout(inStock[0]?.sku ?? "", "tok_visa");
    const grpc = createGrpcClient(OrderService, {
      target: `127.0.0.1:${port("order", "grpc")}`,
      headers: () => ({ authorization: `Bearer ${token}` }),
    });
    const grpcWeb = createClient(
      OrderService,
      createGrpcWebTransport({ baseUrl: `http://127.0.0.1:${port("order", "http")}`, httpVersion: "1.1" }),
    );
    const callers = { grpc: randomBytes(16).toString("hex"), grpcWeb: randomBytes(16).toString("hex") };
    const traceparent = (traceId: string) => `00-${traceId}-${randomBytes(8).toString("hex")}-01`;
    try {
      await grpc.getOrder({ orderId: order.orderId }, { headers: { traceparent: traceparent(callers.grpc) } });
      await grpcWeb.getOrder(
        { orderId: order.orderId },
        { headers: { authorization: `Bearer ${token}`, traceparent: traceparent(callers.grpcWeb) } },
      );
    } finally {
      grpc.close();
    }
    for (const traceId of Object.values(callers)) {
      const served = await waitFor(
        () => spans().find((span) => span.traceId === traceId && span.kind === SpanKinds.server),
        { timeoutMs: 10_000, description: `the GetOrder server span of trace ${traceId}` },
      );
      expect(served).toMatchObject({ name: "shopmesh.order.v1.OrderService/GetOrder", service: "order" });
      expect(served.attributes["rpc.system"]).toBe("grpc");
    }
  });
});

describe("a PlaceOrder retried with its idempotency key", () => {
  it("answers the first order, its server span tagged with that order's id", async () => {
    const orders = createClient(
      OrderService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${port("order", "http")}`, httpVersion: "1.1" }),
    );
    const request = {
      idempotencyKey: randomUUID(),
      items: [{ sku: inStock[0]?.sku ?? "", quantity: 1 }],
      paymentToken: "tok_visa",
    };
    const first = await orders.placeOrder(request, { headers: { authorization: `Bearer ${token}` } });
    const retryTrace = randomBytes(16).toString("hex");
    const traceparent = `00-${retryTrace}-${randomBytes(8).toString("hex")}-01`;
    const retried = await orders.placeOrder(request, { headers: { authorization: `Bearer ${token}`, traceparent } });
    expect(retried.order?.orderId).toBe(first.order?.orderId);
    const served = await waitFor(
      () =>
        spans().find(
          (span) => span.traceId === retryTrace && span.name === "shopmesh.order.v1.OrderService/PlaceOrder",
        ),
      { timeoutMs: 10_000, description: "the retried PlaceOrder's server span (inventory's comes in it too)" },
    );
    expect(served.attributes["shopmesh.order.id"]).toBe(first.order?.orderId);
  });
});

describe("a public caller's baggage header", () => {
  it("is not carried into the saga's events (outbox rows, NATS headers)", async () => {
    const listening = createTestNats("baggage");
    const nats = await listening.connect();
    const carried: string[] = [];
    let confirmed = false;
    const subscription = nats.subscribe(`${mesh.namespace}.>`, {
      callback: (_error, message) => {
        if (message.headers?.get("baggage")) carried.push(message.subject);
        if (message.subject.endsWith(".orders.confirmed")) confirmed = true;
      },
    });
    try {
      const order = await mesh.checkout(token, {
        sku: inStock[1]?.sku ?? "",
        paymentToken: "tok_visa",
        headers: { baggage: `injected=${"A".repeat(4_000)},second=${"B".repeat(3_000)}` },
      });
      expect(order.status).toBe("ORDER_STATUS_CONFIRMED");
      await waitFor(() => confirmed, { timeoutMs: 10_000, description: "the saga's events on NATS" });
      expect(carried).toEqual([]);
    } finally {
      subscription.unsubscribe();
      await listening.cleanup();
    }
  });
});

describe("logs and metrics", () => {
  it("logs inside a request carry that request's trace id", async () => {
    const callerTrace = randomBytes(16).toString("hex");
    const order = await checkout(
      inStock[0]?.sku ?? "",
      "tok_visa",
      `00-${callerTrace}-${randomBytes(8).toString("hex")}-01`,
    );
    const placed = logs
      .filter(({ service }) => service === "order")
      .map(({ line }) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.msg === "order placed" && entry.orderId === order.orderId);
    expect(placed).toMatchObject({ trace_id: callerTrace, span_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
    const plain = logs.find(({ line }) => line.includes('"msg":"order service ready"'));
    expect(plain?.line).not.toContain("trace_id");
  });

  it("serves Prometheus metrics whose counters move as orders flow", async () => {
    const scrape = async (name: ServiceName) => {
      const response = await fetch(`http://127.0.0.1:${port(name, "metrics")}/metrics`);
      expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
      return response.text();
    };
    const value = (text: string, series: RegExp) =>
      text
        .split("\n")
        .filter((line) => series.test(line))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
    const placed = /^shopmesh_orders_total\{.*order_status="placed".*\} /;
    const placeCalls = /^rpc_server_duration_count\{.*rpc_method="PlaceOrder".*\} /;
    const reserved = /^shopmesh_consumer_events_total\{.*messaging_consumer_group_name="inventory".*\} /;
    const [orderBefore, inventoryBefore] = await Promise.all([scrape("order"), scrape("inventory")]);
    await checkout(inStock[1]?.sku ?? "", "tok_visa");
    await waitFor(async () => value(await scrape("inventory"), reserved) >= value(inventoryBefore, reserved) + 2, {
      timeoutMs: 10_000,
      description: "inventory to count the checkout's events",
    });
    const orderAfter = await scrape("order");
    // deploy/observability/metrics.txt is what dashboards and alerts may query: it
    // must list every family the services export, and nothing they do not, with the
    // labels of their series.
    const families = [...readMetricsList().values()];
    const scrapes = await Promise.all(services.map(scrape));
    const exported = new Set(scrapes.flatMap((text) => text.match(/^# TYPE \S+ \S+$/gm) ?? []));
    const isListed = (line: string) => families.some(({ name, type }) => line === `# TYPE ${name} ${type}`);
    expect([...exported].filter((line) => !isListed(line))).toEqual([]);
    expect(families.filter(({ name, type, optional }) => !optional && !exported.has(`# TYPE ${name} ${type}`))).toEqual(
      [],
    );
    expect(labelsAgainstList(scrapes)).toEqual({ unlisted: [], missing: [] });
    expect(value(orderAfter, placed)).toBe(value(orderBefore, placed) + 1);
    expect(value(orderAfter, placeCalls)).toBe(value(orderBefore, placeCalls) + 1);
    expect(value(orderAfter, /^shopmesh_orders_total\{.*order_status="confirmed".*\} /)).toBeGreaterThan(0);
    for (const series of [
      /^shopmesh_outbox_backlog\{/,
      /^shopmesh_outbox_oldest_age\{/,
      /^shopmesh_consumer_pending\{/,
      /^shopmesh_consumer_ack_pending\{/,
      /^shopmesh_db_pool_connections\{.*pool="order".*state="used"/,
      /^nodejs_eventloop_delay/,
      /^v8js_memory_heap_used/,
      /^v8js_gc_duration_count/,
      /^shopmesh_orders_settle_duration_bucket\{/,
      /^shopmesh_outbox_publish_delay_count\{/,
    ]) {
      expect(
        orderAfter.split("\n").some((line) => series.test(line)),
        String(series),
      ).toBe(true);
    }
  });
});

/**
 * The series of real scrapes against metrics.txt's labels: labels a series has that its
 * family does not list (a raw scrape has no job or instance), and labels listed as on
 * every series of a family that one of them lacks.
 */
function labelsAgainstList(scrapes: readonly string[]) {
  const families = readMetricsList();
  const unlisted = new Set<string>();
  const missing = new Set<string>();
  for (const line of scrapes.flatMap((text) => text.split("\n"))) {
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? /.exec(line);
    const series = sample?.[1] ?? "";
    const known = seriesOf(families, series, []);
    if (!known?.family) continue; // an unlisted family fails on its own
    const labels = new Set([...(sample?.[2] ?? "").matchAll(/(\w+)="(?:[^"\\]|\\.)*"/g)].map(([, name]) => name));
    for (const label of labels) if (!known.labels.has(label)) unlisted.add(`${series} ${label}`);
    for (const label of known.family.always) if (!labels.has(label)) missing.add(`${series} ${label}`);
  }
  return { unlisted: [...unlisted], missing: [...missing] };
}

describe("the status code recorded for a call", () => {
  /** rpc_server_duration_count of an order RPC by rpc_grpc_status_code, from a scrape of the order service. */
  const callsByCode = async (method: string) => {
    const text = await (await fetch(`http://127.0.0.1:${port("order", "metrics")}/metrics`)).text();
    const counts = new Map<number, number>();
    for (const line of text.split("\n")) {
      if (!line.startsWith("rpc_server_duration_count{") || !line.includes(`rpc_method="${method}"`)) continue;
      const code = Number(/rpc_grpc_status_code="(\d+)"/.exec(line)?.[1]);
      counts.set(code, (counts.get(code) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
    }
    return counts;
  };
  /** A status code's name, as `Code` spells it; Connect's `Code` has no name for 0. */
  const codeName = (code: number) => (code === 0 ? "OK" : Code[code]);
  /** The calls recorded since `before`, by code name. */
  const recordedSince = async (method: string, before: Map<number, number>) => {
    const after = await callsByCode(method);
    return Object.fromEntries(
      [...after].flatMap(([code, n]) =>
        n > (before.get(code) ?? 0) ? [[codeName(code), n - (before.get(code) ?? 0)]] : [],
      ),
    );
  };
  const transports = {
    grpc: () => createGrpcTransport({ baseUrl: `http://127.0.0.1:${port("order", "grpc")}` }),
    connect: () => createConnectTransport({ baseUrl: `http://127.0.0.1:${port("order", "http")}`, httpVersion: "1.1" }),
  };
  const auth = () => ({ authorization: `Bearer ${token}` });

  /**
   * Watches an order that stays open for seconds (its payment fails transiently, slowly,
   * nine times before it is captured) inside a trace of its own, until the client cancels the call
   * after the first update (a customer closing the page) or its deadline passes:
   * answers the code the client saw, and the rpc.server.duration codes and the server
   * span the order service recorded for the call.
   */
  const watchUntilEnded = async (protocol: keyof typeof transports, ending: "cancelled" | { timeoutMs: number }) => {
    const client = createClient(OrderService, transports[protocol]());
    const { order } = await client.placeOrder(
      {
        idempotencyKey: randomUUID(),
        items: [{ sku: inStock[0]?.sku ?? "", quantity: 1 }],
        paymentToken: "tok_transient_9_slow",
      },
      { headers: auth() },
    );
    const before = await callsByCode("WatchOrder");
    const traceId = randomBytes(16).toString("hex");
    const headers = { ...auth(), traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` };
    const closed = new AbortController();
    const options = ending === "cancelled" ? { signal: closed.signal, headers } : { ...ending, headers };
    let clientSaw = "OK";
    try {
      for await (const _ of client.watchOrder({ orderId: order?.orderId ?? "" }, options)) closed.abort();
    } catch (error) {
      clientSaw = Code[ConnectError.from(error).code];
    }
    const recorded = await waitFor(
      async () => {
        const since = await recordedSince("WatchOrder", before);
        return Object.keys(since).length > 0 && since;
      },
      { timeoutMs: 10_000, description: "the WatchOrder call to be recorded" },
    );
    const span = await waitFor(
      () => spans().find((candidate) => candidate.traceId === traceId && candidate.kind === SpanKinds.server),
      { timeoutMs: 10_000, description: "the WatchOrder server span" },
    );
    return { clientSaw, recorded, span: codeName(Number(span.attributes["rpc.grpc.status_code"])) };
  };

  for (const protocol of ["grpc", "connect"] as const) {
    it(`is CANCELLED for a watch its client cancels, as the client saw it (${protocol})`, async () => {
      const seen = await watchUntilEnded(protocol, "cancelled");
      expect(seen).toEqual({ clientSaw: "Canceled", recorded: { Canceled: 1 }, span: "Canceled" });
    });
  }

  // A client at its deadline gives up a little before the server's deadline (counted
  // from the request's arrival) passes: over HTTP/1.1 a Connect client closes the
  // connection, a gRPC client resets the stream, and the server sees a cancellation.
  // Each is told from a customer's cancellation by the deadline it came at.
  for (const protocol of ["grpc", "connect"] as const) {
    it(`is DEADLINE_EXCEEDED for a watch that outlives its deadline, as the client saw it (${protocol})`, async () => {
      const seen = await watchUntilEnded(protocol, { timeoutMs: 300 });
      expect(seen).toEqual({
        clientSaw: "DeadlineExceeded",
        recorded: { DeadlineExceeded: 1 },
        span: "DeadlineExceeded",
      });
    });
  }

  it("is never OK for a unary call whose 1 ms deadline passed before it was answered (grpc)", async () => {
    const order = await checkout(inStock[0]?.sku ?? "", "tok_visa");
    const client = createClient(OrderService, transports.grpc());
    const before = await callsByCode("GetOrder");
    // One call in time first, so that the OKs are compared on every run.
    await client.getOrder({ orderId: order.orderId }, { timeoutMs: 10_000, headers: auth() });
    const clientSaw: Record<string, number> = { OK: 1 };
    for (let i = 0; i < 20; i++) {
      const code = await client.getOrder({ orderId: order.orderId }, { timeoutMs: 1, headers: auth() }).then(
        () => "OK",
        (error: unknown) => Code[ConnectError.from(error).code] ?? "?",
      );
      clientSaw[code] = (clientSaw[code] ?? 0) + 1;
    }
    expect(clientSaw.DeadlineExceeded).toBeGreaterThan(0);
    // A call may end before the handler runs, unrecorded. The server answers OK only
    // before its deadline (rpc-server-deadline.test.ts), and its status is recorded as
    // sent — but a client whose process was busy may still run its own deadline timer
    // before it reads an OK waiting in its socket: an OK it saw was recorded OK, a
    // DEADLINE_EXCEEDED recorded is one it saw, and not always the other way round.
    const recorded = await waitFor(
      async () => {
        const since = await recordedSince("GetOrder", before);
        return (since.DeadlineExceeded ?? 0) > 0 && since;
      },
      { timeoutMs: 10_000, description: "GetOrder calls past their deadline to be recorded" },
    );
    expect(recorded.OK ?? 0).toBeGreaterThanOrEqual(clientSaw.OK ?? 0);
    expect(recorded.DeadlineExceeded ?? 0).toBeLessThanOrEqual(clientSaw.DeadlineExceeded ?? 0);
  });
});
