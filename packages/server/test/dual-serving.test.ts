import { getEventListeners } from "node:events";
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { BadRequestSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "@shopmesh/gen/google/rpc/status_pb.js";
import { CatalogService } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import { StockService } from "@shopmesh/gen/shopmesh/inventory/v1/stock_service_pb.js";
import { type StockClient, stockGrpcClient, waitFor } from "@shopmesh/testing";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGrpcClient, type RunningServer, registerService, startServer } from "../src/index.js";

function stockClient(file: string, service: string, port: number): StockClient {
  return stockGrpcClient(file, service, `127.0.0.1:${port}`);
}

function unary<T>(client: StockClient, method: string, request: object, deadlineMs = 2000): Promise<T> {
  return client.unary<T>(method, request, { deadlineMs });
}

async function connectJson(port: number, path: string, body: unknown) {
  const response = await fetch(`http://127.0.0.1:${port}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function badRequestFields(error: grpc.ServiceError): string[] {
  const bytes = error.metadata.get("grpc-status-details-bin")[0] as Buffer;
  const status = fromBinary(StatusSchema, bytes);
  const badRequest = status.details.map((detail) => anyUnpack(detail, BadRequestSchema)).find((d) => d !== undefined);
  return badRequest?.fieldViolations.map((violation) => `${violation.field}:${violation.reason}`) ?? [];
}

describe("one implementation served over gRPC (grpc-js) and Connect (connect-node)", () => {
  let server: RunningServer;
  let health: StockClient;
  let catalog: StockClient;
  let stock: StockClient;
  /** ListProducts calls the handler has started, and why their signals were aborted. */
  let listStarted = 0;
  const listAborted: unknown[] = [];

  beforeAll(async () => {
    server = await startServer({
      logger: pino({ level: "silent" }),
      grpcAddress: "127.0.0.1:0",
      httpAddress: "127.0.0.1:0",
      services: [
        registerService(CatalogService, {
          getProduct({ sku }) {
            if (sku === "BOOM-1") throw new Error("database password is hunter2");
            return { product: { sku, name: `Product ${sku}` } };
          },
          async listProducts(_request, context) {
            listStarted++;
            await new Promise((resolve) => context.signal.addEventListener("abort", resolve));
            listAborted.push(context.signal.reason);
            throw ConnectError.from(context.signal.reason);
          },
          batchGetProducts({ skus }) {
            return { products: [], missingSkus: skus };
          },
        }),
        registerService(StockService, {
          reserveStock: () => ({}),
          releaseStock: () => ({}),
          setStock: ({ sku, onHand }) => ({ stock: { sku, onHand, available: onHand } }),
          getStock: ({ sku }) => ({ stock: { sku } }),
        }),
      ],
    });
    health = stockClient("grpc/health/v1/health.proto", "grpc.health.v1.Health", server.grpcPort);
    catalog = stockClient(
      "shopmesh/inventory/v1/catalog_service.proto",
      "shopmesh.inventory.v1.CatalogService",
      server.grpcPort,
    );
    stock = stockClient(
      "shopmesh/inventory/v1/stock_service.proto",
      "shopmesh.inventory.v1.StockService",
      server.grpcPort,
    );
  });

  afterAll(async () => {
    for (const client of [health, catalog, stock]) client?.close();
    await server?.close();
  });

  it("answers grpc.health.v1 Check over gRPC to a stock grpc-js client, NOT_SERVING until marked serving", async () => {
    await expect(unary(health, "check", { service: "" })).resolves.toEqual({ status: "NOT_SERVING" });
    server.markServing();
    await expect(unary(health, "check", { service: "" })).resolves.toEqual({ status: "SERVING" });
    await expect(unary(health, "check", { service: "shopmesh.inventory.v1.StockService" })).resolves.toEqual({
      status: "SERVING",
    });
    await expect(unary(health, "check", { service: "no.Such" })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("ends a grpc.health.v1 Watch cut by its deadline DEADLINE_EXCEEDED on every protocol, never as finished", async () => {
    server.markServing();
    const watchedOverGrpc = new Promise<grpc.ServiceError>((resolve) => {
      const call = (health.client as unknown as { watch: Function }).watch(
        { service: "" },
        { deadline: Date.now() + 300 },
      ) as grpc.ClientReadableStream<unknown>;
      call.on("data", () => {});
      call.on("error", resolve);
    });
    expect((await watchedOverGrpc).code).toBe(grpc.status.DEADLINE_EXCEEDED);
    // An empty request in the stream envelope: a flags byte and a zero length.
    const emptyMessage = new Uint8Array(5);
    const watch = `http://127.0.0.1:${server.httpPort}/grpc.health.v1.Health/Watch`;
    const overGrpcWeb = await fetch(watch, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", "grpc-timeout": "300m" },
      body: emptyMessage,
    });
    expect(Buffer.from(await overGrpcWeb.arrayBuffer()).toString("latin1")).toMatch(/grpc-status: ?4\r\n/);
    const overConnect = await fetch(watch, {
      method: "POST",
      headers: { "content-type": "application/connect+proto", "connect-timeout-ms": "300" },
      body: emptyMessage,
    });
    expect(Buffer.from(await overConnect.arrayBuffer()).toString("latin1")).toMatch(/"code":"deadline_exceeded"/);
  });

  it("refuses a Connect JSON body that is not UTF-8 with INVALID_ARGUMENT, never reading it as U+FFFD", async () => {
    // Read as U+FFFD, this would be a service name like any other, answered NOT_FOUND.
    const body = Buffer.concat([Buffer.from('{"service":"shopmesh.'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const response = await fetch(`http://127.0.0.1:${server.httpPort}/grpc.health.v1.Health/Check`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: "invalid_argument" });
  });

  it("answers grpc.health.v1 Check over the Connect protocol with plain JSON over HTTP/1.1", async () => {
    server.markServing();
    const { status, body } = await connectJson(server.httpPort, "grpc.health.v1.Health/Check", {});
    expect(status).toBe(200);
    expect(body).toEqual({ status: "SERVING" });
  });

  it("serves the same implementation on both listeners", async () => {
    const overGrpc = await unary<{ product: { sku: string; name: string } }>(catalog, "getProduct", { sku: "SKU-1" });
    const overConnect = await connectJson(server.httpPort, "shopmesh.inventory.v1.CatalogService/GetProduct", {
      sku: "SKU-1",
    });
    expect(overGrpc.product).toMatchObject({ sku: "SKU-1", name: "Product SKU-1" });
    expect(overConnect.body).toEqual({ product: { sku: "SKU-1", name: "Product SKU-1" } });
  });

  it("rejects an invalid request identically on both paths: INVALID_ARGUMENT with field violations", async () => {
    const request = { skus: ["SKU-1", "not a sku", "SKU-1"] };
    const grpcError = await unary(catalog, "batchGetProducts", request).catch((error: grpc.ServiceError) => error);
    const connect = await connectJson(
      server.httpPort,
      "shopmesh.inventory.v1.CatalogService/BatchGetProducts",
      request,
    );

    expect((grpcError as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(connect.status).toBe(400);
    expect(connect.body.code).toBe("invalid_argument");
    expect(badRequestFields(grpcError as grpc.ServiceError).sort()).toEqual([
      "skus:repeated.unique",
      "skus[1]:string.pattern",
    ]);
    const connectDetails = connect.body.details as {
      type: string;
      debug: { fieldViolations: { field: string; reason: string }[] };
    }[];
    const connectBadRequest = connectDetails.find((detail) => detail.type === "google.rpc.BadRequest");
    expect(connectBadRequest?.debug.fieldViolations.map((v) => `${v.field}:${v.reason}`).sort()).toEqual(
      badRequestFields(grpcError as grpc.ServiceError).sort(),
    );
    expect(connectDetails.map((detail) => detail.type)).toContain("buf.validate.Violations");
    expect(connect.body.message).toBe((grpcError as grpc.ServiceError).details);
  });

  it("reports at most 20 violations, so that a request breaking hundreds of rules still gets its answer", async () => {
    const request = { skus: Array.from({ length: 200 }, (_, index) => `not a sku ${index}`) };
    const grpcError = await unary(catalog, "batchGetProducts", request).catch((error: grpc.ServiceError) => error);
    expect((grpcError as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequestFields(grpcError as grpc.ServiceError)).toHaveLength(20);
    expect((grpcError as grpc.ServiceError).details).toMatch(/; and 181 more$/); // 200 patterns broken, and the 100-SKU limit
    // The connection still serves the calls after it.
    expect(await unary(catalog, "getProduct", { sku: "SKU-1" })).toHaveProperty("product.sku", "SKU-1");
  });

  it("answers malformed protobuf bytes over gRPC with INVALID_ARGUMENT, not INTERNAL", async () => {
    const raw = new grpc.Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    try {
      // A length-delimited field whose length runs past the end of the message.
      const malformed = Buffer.from([0x0a, 0xff, 0xff, 0xff]);
      const error = await new Promise<grpc.ServiceError | null>((resolve) => {
        raw.makeUnaryRequest(
          "/shopmesh.inventory.v1.CatalogService/GetProduct",
          (bytes: Buffer) => bytes,
          (bytes: Buffer) => bytes,
          malformed,
          { deadline: Date.now() + 2_000 },
          (failure) => resolve(failure),
        );
      });
      expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(error?.details).toMatch(/^malformed request/);
    } finally {
      raw.close();
    }
  });

  it("answers an unexpected failure as INTERNAL without leaking its message, on both paths", async () => {
    const grpcError = (await unary(catalog, "getProduct", { sku: "BOOM-1" }).catch((e) => e)) as grpc.ServiceError;
    const connect = await connectJson(server.httpPort, "shopmesh.inventory.v1.CatalogService/GetProduct", {
      sku: "BOOM-1",
    });
    expect(grpcError.code).toBe(grpc.status.INTERNAL);
    expect(grpcError.details).toBe("internal error");
    expect(connect.body).toEqual({ code: "internal", message: "internal error" });
  });

  it("passes the client's deadline to the handler: a call that outlives it ends DEADLINE_EXCEEDED", async () => {
    const grpcError = (await unary(catalog, "listProducts", {}, 150).catch((e) => e)) as grpc.ServiceError;
    expect(grpcError.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const response = await fetch(
      `http://127.0.0.1:${server.httpPort}/shopmesh.inventory.v1.CatalogService/ListProducts`,
      {
        method: "POST",
        headers: { "content-type": "application/json", "connect-timeout-ms": "150" },
        body: "{}",
      },
    );
    expect(((await response.json()) as { code: string }).code).toBe("deadline_exceeded");
  });

  it("takes a long deadline over the Connect protocol as over gRPC; one no timer can keep, it refuses", async () => {
    const answers: Record<string, string> = {};
    // A minute, an hour, the longest a timer keeps (~24.8 days), and a month.
    for (const timeoutMs of ["60000", "3600000", "2147483647", "2592000000"]) {
      const response = await fetch(
        `http://127.0.0.1:${server.httpPort}/shopmesh.inventory.v1.CatalogService/GetProduct`,
        {
          method: "POST",
          headers: { "content-type": "application/json", "connect-timeout-ms": timeoutMs },
          body: JSON.stringify({ sku: "SKU-1" }),
        },
      );
      const body = (await response.json()) as { code?: string };
      answers[timeoutMs] = `${response.status} ${body.code ?? "ok"}`;
    }
    // A month would have ended at once, as DEADLINE_EXCEEDED: Node fires a longer timer after 1 ms.
    expect(answers).toEqual({
      "60000": "200 ok",
      "3600000": "200 ok",
      "2147483647": "200 ok",
      "2592000000": "400 invalid_argument",
    });
  });

  it("aborts the handler's signal when a gRPC client cancels the call", async () => {
    listAborted.length = 0;
    const started = listStarted;
    const call = (catalog.client as unknown as Record<string, (...args: unknown[]) => grpc.ClientUnaryCall>)
      .listProducts;
    let pending: grpc.ClientUnaryCall | undefined;
    const outcome = new Promise<grpc.ServiceError>((resolve) => {
      pending = call?.call(catalog.client, {}, new grpc.Metadata(), {}, resolve);
    });
    await waitFor(() => listStarted > started, { description: "the handler to start" });
    pending?.cancel();
    expect((await outcome).code).toBe(grpc.status.CANCELLED);
    await waitFor(() => listAborted.length > 0, { description: "the handler's signal to abort" });
    expect(listAborted).toHaveLength(1);
    expect(ConnectError.from(listAborted[0]).message).toContain("call cancelled by the client");
  });

  it("lets the typed grpc-js client's calls share one caller's signal: cancelled once it aborts, no listener left", async () => {
    const client = createGrpcClient(CatalogService, { target: `127.0.0.1:${server.grpcPort}` });
    try {
      const caller = new AbortController();
      for (let call = 0; call < 3; call++) await client.getProduct({ sku: "SKU-1" }, { signal: caller.signal });
      expect(getEventListeners(caller.signal, "abort")).toHaveLength(0);
      caller.abort();
      const late = await client
        .getProduct({ sku: "SKU-1" }, { signal: caller.signal })
        .catch((error: unknown) => error);
      expect(ConnectError.from(late).code).toBe(Code.Canceled);
    } finally {
      client.close();
    }
  });

  it("serves internal services over gRPC only, never on the public Connect listener", async () => {
    await expect(unary(stock, "setStock", { sku: "SKU-1", onHand: 5 })).resolves.toMatchObject({
      stock: { sku: "SKU-1", onHand: "5" },
    });
    const connect = await fetch(`http://127.0.0.1:${server.httpPort}/shopmesh.inventory.v1.StockService/SetStock`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sku: "SKU-1", onHand: 5 }),
    });
    expect(connect.status).toBe(404);
  });

  it("rejects a message larger than the limit with RESOURCE_EXHAUSTED", async () => {
    const skus = Array.from({ length: 100 }, (_, i) => `SKU-${i}`.padEnd(32, "X").slice(0, 32));
    const huge = { skus: [...skus, "X".repeat(2 * 1024 * 1024)] };
    const grpcError = (await unary(catalog, "batchGetProducts", huge).catch((e) => e)) as grpc.ServiceError;
    expect(grpcError.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });
});

describe("shutdown", () => {
  it("reports NOT_SERVING to watchers and ends their streams with UNAVAILABLE, then closes", async () => {
    const server = await startServer({
      logger: pino({ level: "silent" }),
      grpcAddress: "127.0.0.1:0",
      httpAddress: "127.0.0.1:0",
      services: [],
    });
    server.markServing();
    const health = stockClient("grpc/health/v1/health.proto", "grpc.health.v1.Health", server.grpcPort);
    const seen: string[] = [];
    const ended = new Promise<grpc.ServiceError>((resolve) => {
      const call = (health.client as unknown as { watch: Function }).watch({
        service: "",
      }) as grpc.ClientReadableStream<{
        status: string;
      }>;
      call.on("data", (message) => {
        seen.push(message.status);
        if (seen.length === 1) void server.close();
      });
      call.on("error", resolve);
    });
    const error = await ended;
    expect(seen).toEqual(["SERVING", "NOT_SERVING"]);
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    await server.close();
    await expect(unary(health, "check", { service: "" }, 500)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    health.close();
  });

  it("Code numbers of Connect are gRPC's, which the grpc-js adapter relies on", () => {
    expect([Code.InvalidArgument, Code.NotFound, Code.Unavailable, Code.Unauthenticated]).toEqual([
      grpc.status.INVALID_ARGUMENT,
      grpc.status.NOT_FOUND,
      grpc.status.UNAVAILABLE,
      grpc.status.UNAUTHENTICATED,
    ]);
  });
});
