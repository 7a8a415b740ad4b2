import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import { startEmptyOrders } from "./empty-orders.js";

// What a browser on the storefront's origin needs from the public Connect listener, and
// what it must not get on any other origin.
const storefront = "https://shop.example";
let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startEmptyOrders({ corsOrigins: [storefront] });
  base = `http://127.0.0.1:${server.httpPort}`;
});

afterAll(() => server?.close());

const preflight = (origin: string) =>
  fetch(`${base}/shopmesh.order.v1.OrderService/GetOrder`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type, connect-protocol-version, traceparent",
    },
  });

const getOrder = (headers: Record<string, string>) =>
  fetch(`${base}/shopmesh.order.v1.OrderService/GetOrder`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: "{}",
  });

describe("CORS on the Connect listener", () => {
  it("lets the storefront's origin send its token and trace context, and read the error headers", async () => {
    const answer = await preflight(storefront);
    const allowed = (answer.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/,\s*/);
    expect(answer.status).toBe(204);
    expect(answer.headers.get("access-control-allow-origin")).toBe(storefront);
    expect(allowed).toEqual(expect.arrayContaining(["authorization", "content-type", "traceparent", "tracestate"]));
    const call = await getOrder({ origin: storefront });
    const exposed = (call.headers.get("access-control-expose-headers") ?? "").toLowerCase().split(/,\s*/);
    expect(call.headers.get("access-control-allow-origin")).toBe(storefront);
    expect(exposed).toEqual(expect.arrayContaining(["grpc-status", "grpc-message", "grpc-status-details-bin"]));
  });

  it("gives another origin no CORS headers, preflight or call", async () => {
    const answer = await preflight("https://evil.example");
    expect(answer.headers.get("access-control-allow-origin")).toBeNull();
    expect(answer.headers.get("access-control-allow-headers")).toBeNull();
    const call = await getOrder({ origin: "https://evil.example" });
    expect(call.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("says every answer varies by origin, also one to a caller without an origin", async () => {
    const callers: Record<string, string>[] = [{}, { origin: "https://evil.example" }, { origin: storefront }];
    for (const headers of callers) {
      expect((await getOrder(headers)).headers.get("vary")).toBe("Origin");
    }
  });
});
