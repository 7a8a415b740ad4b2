import { Code, ConnectError, type UnaryRequest } from "@connectrpc/connect";
import { useInMemoryTracing, waitFor } from "@shopmesh/testing";
import { beforeEach, describe, expect, it } from "vitest";
import { createRpcTelemetryInterceptor } from "./rpc-server-telemetry.js";

const exporter = useInMemoryTracing();
beforeEach(() => exporter.reset());

const timeoutMs = 200;

/**
 * A Connect call with a 200 ms deadline that its client cancels as its handler starts;
 * the handler (or its stream's next read) winds down only once the deadline has passed.
 */
function cancelledEarly(stream: boolean, { before = false } = {}) {
  const abort = new AbortController();
  // A client may be gone before the call reaches the interceptor.
  if (before) abort.abort(new ConnectError("the client closed the connection", Code.Canceled));
  const req = {
    service: { typeName: "shopmesh.order.v1.OrderService" },
    method: { name: stream ? "WatchOrder" : "PlaceOrder" },
    header: new Headers({ "content-type": "application/json", "connect-timeout-ms": String(timeoutMs) }),
    url: "http://127.0.0.1/shopmesh.order.v1.OrderService/x",
    signal: abort.signal,
  };
  const started = performance.now();
  // e.g. a transaction that finishes after its client went away
  const deadlinePassed = () =>
    waitFor(() => performance.now() > started + timeoutMs + 50, { description: "the call's deadline passed" });
  const next = async () => {
    abort.abort(new ConnectError("the client closed the connection", Code.Canceled));
    if (!stream) {
      await deadlinePassed();
      return { stream: false, message: {} };
    }
    return {
      stream: true,
      message: (async function* () {
        yield {}; // the watch's first update
        await deadlinePassed(); // its next read in flight when the client went away
      })(),
    };
  };
  // The fields of a request the interceptor reads.
  const interceptor = createRpcTelemetryInterceptor();
  return interceptor(next as unknown as Parameters<typeof interceptor>[0])(req as unknown as UnaryRequest);
}

describe("a call its client cancelled long before its deadline", () => {
  it("is CANCELLED, not DEADLINE_EXCEEDED, when the unary handler returns after the deadline", async () => {
    await cancelledEarly(false);
    const [span] = exporter.getFinishedSpans();
    expect(span?.attributes["rpc.connect_rpc.error_code"]).toBe("cancelled");
    expect(span?.attributes["rpc.grpc.status_code"]).toBe(Code.Canceled);
  });

  it("is CANCELLED, not DEADLINE_EXCEEDED, when it was cancelled before it reached the interceptor", async () => {
    await cancelledEarly(false, { before: true });
    const [span] = exporter.getFinishedSpans();
    expect(span?.attributes["rpc.grpc.status_code"]).toBe(Code.Canceled);
  });

  it("is CANCELLED, not DEADLINE_EXCEEDED, when the stream ends after the deadline", async () => {
    const res = (await cancelledEarly(true)) as { message: AsyncIterable<unknown> };
    for await (const _ of res.message) {
    }
    const [span] = exporter.getFinishedSpans();
    expect(span?.attributes["rpc.grpc.status_code"]).toBe(Code.Canceled);
  });
});
