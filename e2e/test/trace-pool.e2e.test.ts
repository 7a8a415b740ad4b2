import { randomBytes, randomUUID } from "node:crypto";
import { waitFor } from "@shopmesh/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ReceivedSpan, SpanKinds } from "../src/otlp-receiver.js";
import { startTracedMesh, type TracedMesh } from "../src/traced-mesh.js";

// One connection in each RPC pool: every call but the first waits for the connection
// that another call gives back — the case where a connection pool hands a waiting query
// over in the code of whichever call released the connection.
let mesh: TracedMesh;
let token: string;

beforeAll(async () => {
  mesh = await startTracedMesh("tracepool", { env: { DB_POOL_SIZE: "1" } });
  token = await mesh.customerToken(`customer-${randomUUID()}`);
}, 120_000);

afterAll(() => mesh?.close(), 60_000);

describe("a query that waited for a pooled connection", () => {
  it("is a span of the call that made it, not of the call that released the connection", async () => {
    const traces = Array.from({ length: 8 }, () => randomBytes(16).toString("hex"));
    const getOrder = (traceId: string) =>
      fetch(`http://127.0.0.1:${mesh.port("order", "http")}/shopmesh.order.v1.OrderService/GetOrder`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${token}`,
          traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01`,
        },
        body: JSON.stringify({ orderId: randomUUID() }),
      }).then((response) => response.status);
    // Unknown orders: each call still runs its lookup, then answers NOT_FOUND.
    expect(await Promise.all(traces.map(getOrder))).toEqual(traces.map(() => 404));
    const lookups = () => mesh.receiver.spans.filter((span) => span.name.includes("order.find-customer-order"));
    const served = () =>
      mesh.receiver.spans.filter(
        (span) => span.kind === SpanKinds.server && span.name === "shopmesh.order.v1.OrderService/GetOrder",
      );
    await waitFor(() => lookups().length >= traces.length && served().length >= traces.length, {
      timeoutMs: 10_000,
      description: "the lookups' and the calls' spans",
    }).catch(() => undefined);
    const callOf = new Map(served().map((span) => [span.traceId, span]));
    const misplaced = (span: ReceivedSpan) => callOf.get(span.traceId)?.spanId !== span.parentSpanId;
    expect(lookups().filter(misplaced).length, "SQL spans under another call than their own").toBe(0);
    expect(new Set(lookups().map((span) => span.traceId))).toEqual(new Set(traces));
  });
});
