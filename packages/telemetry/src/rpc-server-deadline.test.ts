import { Code, ConnectError, type UnaryRequest } from "@connectrpc/connect";
import { beforeEach, describe, expect, it } from "vitest";
import { useInMemoryTracing } from "../test/in-memory-tracing.js";
import { createRpcTelemetryInterceptor } from "./rpc-server-telemetry.js";

const exporter = useInMemoryTracing();
beforeEach(() => exporter.reset());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A Connect call with a 200 ms deadline its client cancels after 20 ms; the handler winds down in 300 ms. */
function cancelledEarly(stream: boolean) {
  const abort = new AbortController();
  setTimeout(() => abort.abort(new ConnectError("the client closed the connection", Code.Canceled)), 20);
  const req = {
    service: { typeName: "shopmesh.order.v1.OrderService" },
    method: { name: stream ? "WatchOrder" : "PlaceOrder" },
    header: new Headers({ "content-type": "application/json", "connect-timeout-ms": "200" }),
    url: "http://127.0.0.1/shopmesh.order.v1.OrderService/x",
    signal: abort.signal,
  };
  const next = async () => {
    if (!stream) {
      await sleep(300); // e.g. a transaction that finishes after its client went away
      return { stream: false, message: {} };
    }
    return {
      stream: true,
      message: (async function* () {
        yield {}; // the watch's first update
        await sleep(300); // its next read in flight when the client went away
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
    expect(span?.attributes["rpc.connect_rpc.error_code"]).toBe("Canceled");
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
