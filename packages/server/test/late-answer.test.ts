import { Code, ConnectError, type UnaryRequest } from "@connectrpc/connect";
import { waitFor } from "@shopmesh/testing";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createErrorInterceptor } from "../src/errors.js";

/** A gRPC unary call with a 50 ms deadline whose timer never fires (a busy event loop), answered after `answerMs`. */
function answeredAfter(answerMs: number) {
  // The fields of a request the interceptor reads.
  const req = {
    service: { typeName: "shopmesh.order.v1.OrderService" },
    method: { name: "GetOrder" },
    header: new Headers({ "content-type": "application/grpc", "grpc-timeout": "50m" }),
    url: "/shopmesh.order.v1.OrderService/GetOrder",
    signal: new AbortController().signal,
  };
  const started = performance.now();
  const next = async () => {
    await waitFor(() => performance.now() >= started + answerMs, { description: "the answer is ready" });
    return { stream: false, message: {} };
  };
  const interceptor = createErrorInterceptor(pino({ level: "silent" }));
  return interceptor(next as unknown as Parameters<typeof interceptor>[0])(req as unknown as UnaryRequest);
}

describe("a unary call answered after its deadline, before its signal said so", () => {
  it("fails DEADLINE_EXCEEDED instead of going out as OK", async () => {
    const error = await answeredAfter(80).catch((failure: unknown) => failure);
    expect(ConnectError.from(error).code).toBe(Code.DeadlineExceeded);
  });

  it("is OK when answered in time", async () => {
    await expect(answeredAfter(0)).resolves.toMatchObject({ stream: false });
  });
});
