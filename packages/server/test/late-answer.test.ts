import { Code, ConnectError, type UnaryRequest } from "@connectrpc/connect";
import { waitFor } from "@shopmesh/testing";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createErrorInterceptor } from "../src/errors.js";

/**
 * A gRPC unary call with a 50 ms deadline whose timer never fires (a busy event loop),
 * answered after `answerMs` — with `failure` thrown, if given. The interceptor's log
 * lines go to `lines`.
 */
function answeredAfter(answerMs: number, failure?: unknown, lines: string[] = []) {
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
    if (failure) throw failure;
    return { stream: false, message: {} };
  };
  const interceptor = createErrorInterceptor(
    pino({ level: "error" }, { write: (line: string) => void lines.push(line) }),
  );
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

describe("a unary call that fails after its deadline", () => {
  // A handler whose downstream call was cut short by the deadline it passed on may
  // report that as its own error (UNAVAILABLE, say): over gRPC the client sees
  // DEADLINE_EXCEEDED from grpc-js's timer, and over Connect it must too.
  it("fails DEADLINE_EXCEEDED, whatever the handler threw", async () => {
    const unavailable = new ConnectError("the catalog is unavailable", Code.Unavailable);
    const error = await answeredAfter(80, unavailable).catch((failure: unknown) => failure);
    expect(ConnectError.from(error).code).toBe(Code.DeadlineExceeded);
  });

  it("still logs a fault of ours (not a coded error) with its cause, though the caller is told DEADLINE_EXCEEDED", async () => {
    const lines: string[] = [];
    const bug = new TypeError("Cannot read properties of undefined (reading 'status')");
    const error = await answeredAfter(80, bug, lines).catch((failure: unknown) => failure);
    expect(ConnectError.from(error).code).toBe(Code.DeadlineExceeded);
    expect(lines.filter((line) => line.includes("unexpected error in handler"))).toHaveLength(1);
  });

  it("keeps the handler's error when it failed in time", async () => {
    const unavailable = new ConnectError("the catalog is unavailable", Code.Unavailable);
    const error = await answeredAfter(0, unavailable).catch((failure: unknown) => failure);
    expect(ConnectError.from(error).code).toBe(Code.Unavailable);
  });
});
