import { Agent, request as httpRequest } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { CatalogService } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import { freePort, waitFor } from "@shopmesh/testing";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { registerService, startServer } from "../src/index.js";
import { startEmptyCatalog } from "./empty-catalog.js";

/** One Connect call over a keep-alive connection: its HTTP status, or the socket error's code. */
function listProducts(port: number, agent: Agent): Promise<string> {
  return new Promise((resolve) => {
    const call = httpRequest(
      {
        host: "127.0.0.1",
        port,
        agent,
        method: "POST",
        path: "/shopmesh.inventory.v1.CatalogService/ListProducts",
        headers: { "content-type": "application/json" },
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve(String(response.statusCode)));
      },
    );
    call.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    call.end("{}");
  });
}

describe("a server shutting down", () => {
  it("sends keep-alive clients away after their current call instead of cutting one off", async () => {
    const logged: string[] = [];
    let started = 0;
    const server = await startServer({
      logger: pino({ level: "warn" }, { write: (line: string) => void logged.push(line) }),
      grpcAddress: "127.0.0.1:0",
      httpAddress: "127.0.0.1:0",
      shutdownGraceMs: 2_000,
      services: [
        registerService(CatalogService, {
          getProduct: () => ({}),
          // Each call takes a while, so one is in flight when the shutdown starts.
          listProducts: async () => {
            started++;
            await sleep(150);
            return { products: [] };
          },
          batchGetProducts: () => ({ products: [] }),
        }),
      ],
    });
    server.markServing();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const outcomes: string[] = [];
    let stopping = false;
    const client = (async () => {
      while (!stopping) {
        const outcome = await listProducts(server.httpPort, agent);
        outcomes.push(outcome);
        if (outcome !== "200") return;
      }
    })();
    try {
      await waitFor(() => outcomes.length >= 2, { description: "calls on the kept-alive connection" });
      await server.close();
    } finally {
      stopping = true;
      await client;
      agent.destroy();
    }
    // Every call the service began was answered: none cut off mid-call. (A request sent on
    // a kept-alive connection just as the server closed it idle may fail before it
    // reaches the service — HTTP/1.1's own race, which clients retry; not counted here.)
    expect(outcomes.filter((outcome) => outcome === "200")).toHaveLength(started);
    expect(logged.filter((line) => line.includes("forcing"))).toEqual([]);
  });

  it("answers every call it is sent, or tells it UNAVAILABLE: no INTERNAL (EPIPE) or ABORTED (ECONNRESET)", async () => {
    const failures: Record<string, number> = {};
    for (let round = 0; round < 5; round++) {
      const server = await startEmptyCatalog({ shutdownGraceMs: 2_000 });
      const client = createClient(
        CatalogService,
        createConnectTransport({ baseUrl: `http://127.0.0.1:${server.httpPort}`, httpVersion: "1.1" }),
      );
      let calls = 0;
      let running = true;
      const workers = Array.from({ length: 12 }, async () => {
        while (running) {
          try {
            await client.listProducts({}, { timeoutMs: 5_000 });
            calls++;
          } catch (error) {
            const connectError = ConnectError.from(error);
            // After the shutdown the port is closed: a refused connection is UNAVAILABLE, and the end.
            if (connectError.code === Code.Unavailable) return;
            const key = `${Code[connectError.code]}: ${connectError.rawMessage}`;
            failures[key] = (failures[key] ?? 0) + 1;
            return;
          }
        }
      });
      await waitFor(() => calls >= 200, { description: "calls flowing on kept-alive connections" });
      await server.close();
      running = false;
      await Promise.all(workers);
    }
    // Cutting a kept-alive connection as a client sends on it answers INTERNAL (EPIPE) or
    // ABORTED (ECONNRESET): codes clients do not retry.
    expect(failures).toEqual({});
  }, 60_000);
});

/**
 * The code a client gets for a call still running when a server with a 300 ms grace
 * period shuts down, its handler `then` doing what it does once its signal aborts
 * ("OK" for an answer).
 */
async function codeAtForcedStop(
  listener: "grpc" | "connect",
  then: (sku: string, signal: AbortSignal) => { product: { sku: string; name: string } },
): Promise<string> {
  let started = 0;
  const server = await startServer({
    logger: pino({ level: "silent" }),
    grpcAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    shutdownGraceMs: 300,
    services: [
      registerService(CatalogService, {
        getProduct: async ({ sku }, context) => {
          started++;
          await new Promise((resolve) => context.signal.addEventListener("abort", resolve, { once: true }));
          return then(sku, context.signal);
        },
        listProducts: () => ({ products: [] }),
        batchGetProducts: () => ({ products: [] }),
      }),
    ],
  });
  server.markServing();
  const transport =
    listener === "grpc"
      ? createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.grpcPort}` })
      : createConnectTransport({ baseUrl: `http://127.0.0.1:${server.httpPort}`, httpVersion: "1.1" });
  const outcome = createClient(CatalogService, transport)
    .getProduct({ sku: "SKU-1" }, { timeoutMs: 10_000 })
    .then(
      () => "OK",
      (error: unknown) => Code[ConnectError.from(error).code],
    );
  await waitFor(() => started === 1, { description: "the call to start" });
  await server.close();
  return outcome;
}

describe("a call still running when the grace period ends", () => {
  for (const listener of ["grpc", "connect"] as const) {
    it(`ends UNAVAILABLE, the code clients retry, when its handler heeds the signal (${listener})`, async () => {
      const code = await codeAtForcedStop(listener, (_sku, signal) => {
        throw ConnectError.from(signal.reason);
      });
      // Cut with its connection, it was CANCELLED (gRPC) or ABORTED (Connect): neither is retried.
      expect(code).toBe("Unavailable");
    });

    it(`ends UNAVAILABLE, as the telemetry records it, not OK, when its handler ignores the signal and answers (${listener})`, async () => {
      const code = await codeAtForcedStop(listener, (sku) => ({
        product: { sku, name: "answered after the forced stop" },
      }));
      expect(code).toBe("Unavailable");
    });
  }
});

describe("a server that cannot take its HTTP address", () => {
  it("fails to start and lets go of the gRPC port it had bound", async () => {
    const taken = await startServer({
      logger: pino({ level: "silent" }),
      grpcAddress: "127.0.0.1:0",
      httpAddress: "127.0.0.1:0",
      services: [],
    });
    try {
      const grpcPort = await freePort();
      const failed = await startServer({
        logger: pino({ level: "silent" }),
        grpcAddress: `127.0.0.1:${grpcPort}`,
        httpAddress: `127.0.0.1:${taken.httpPort}`,
        services: [],
      }).catch((error: NodeJS.ErrnoException) => error.code);
      expect(failed).toBe("EADDRINUSE");
      const again = await startServer({
        logger: pino({ level: "silent" }),
        grpcAddress: `127.0.0.1:${grpcPort}`,
        httpAddress: "127.0.0.1:0",
        services: [],
      });
      await again.close();
    } finally {
      await taken.close();
    }
  });
});
