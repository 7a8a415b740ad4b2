import { connect as connectHttp2, type IncomingHttpHeaders } from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type UnaryRequest } from "@connectrpc/connect";
import { CatalogService, GetProductRequestSchema } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import { waitFor } from "@shopmesh/testing";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createErrorInterceptor } from "../src/errors.js";
import { type RunningServer, registerService, startServer } from "../src/index.js";

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

describe("a unary call its handler answers after the deadline, on a blocked event loop", () => {
  // The handler holds the event loop past the deadline, so neither grpc-js's timer nor
  // the call's signal has fired when the answer is ready: only the error interceptor can
  // tell, from the deadline the request came with.
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      logger: pino({ level: "silent" }),
      grpcAddress: "127.0.0.1:0",
      httpAddress: "127.0.0.1:0",
      services: [
        registerService(CatalogService, {
          getProduct({ sku }) {
            const busyUntil = performance.now() + 150;
            while (performance.now() < busyUntil);
            return { product: { sku } };
          },
          listProducts: () => ({}),
          batchGetProducts: () => ({}),
        }),
      ],
    });
  });
  afterAll(() => server?.close());

  it("is DEADLINE_EXCEEDED over gRPC, as over the Connect protocol", async () => {
    const connect = await fetch(`http://127.0.0.1:${server.httpPort}/shopmesh.inventory.v1.CatalogService/GetProduct`, {
      method: "POST",
      headers: { "content-type": "application/json", "connect-timeout-ms": "50" },
      body: JSON.stringify({ sku: "SKU-1" }),
    });
    expect(((await connect.json()) as { code?: string }).code).toBe("deadline_exceeded");
    // A plain HTTP/2 client, whose own deadline cannot answer for the server: what the server sent.
    expect(await grpcStatusOf(server.grpcPort, { sku: "SKU-1" }, "50m")).toBe(String(Code.DeadlineExceeded));
  });
});

/** The grpc-status a gRPC server sends for GetProduct with the given `grpc-timeout`. */
function grpcStatusOf(port: number, request: { sku: string }, grpcTimeout: string): Promise<string | undefined> {
  const message = Buffer.from(toBinary(GetProductRequestSchema, create(GetProductRequestSchema, request)));
  const envelope = Buffer.alloc(5 + message.length);
  envelope.writeUInt32BE(message.length, 1);
  message.copy(envelope, 5);
  const session = connectHttp2(`http://127.0.0.1:${port}`);
  return new Promise<string | undefined>((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": "/shopmesh.inventory.v1.CatalogService/GetProduct",
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": grpcTimeout,
    });
    let status: string | undefined;
    const record = (headers: IncomingHttpHeaders) => {
      status ??= headers["grpc-status"] as string | undefined;
    };
    stream.on("response", record);
    stream.on("trailers", record);
    stream.resume();
    stream.on("close", () => resolve(status));
    stream.on("error", reject);
    stream.end(envelope);
  }).finally(() => session.close());
}
