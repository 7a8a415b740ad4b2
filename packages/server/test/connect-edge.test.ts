import { Agent, request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/index.js";
import { startEmptyOrders } from "./empty-orders.js";

// The public Connect / gRPC-Web listener at its edge: bytes that are not a message, bodies over the limit.

let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startEmptyOrders();
  base = `http://127.0.0.1:${server.httpPort}`;
});

afterAll(() => server?.close());

/** A length-delimited field 1 whose length runs past the end of the message (as dual-serving's gRPC test). */
const malformed = Buffer.from([0x0a, 0xff, 0xff, 0xff]);

function enveloped(message: Buffer): Buffer {
  const envelope = Buffer.alloc(5 + message.length);
  envelope.writeUInt32BE(message.length, 1);
  message.copy(envelope, 5);
  return envelope;
}

describe("a malformed JSON body on the Connect listener (a typo in a curl command)", () => {
  it("is INVALID_ARGUMENT, not a server error", async () => {
    const response = await fetch(`${base}/shopmesh.order.v1.OrderService/GetOrder`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"orderId": }',
    });
    expect([response.status, ((await response.json()) as { code?: string }).code]).toEqual([400, "invalid_argument"]);
  });
});

describe("malformed protobuf bytes on the Connect listener", () => {
  // Unary requests are parsed by connect-node before any interceptor runs, and it
  // answers them INTERNAL (connect-es codes its parse failure so); a server stream's
  // request is parsed while its handler runs, where the error interceptor recodes it.
  it("are INVALID_ARGUMENT on a server stream (WatchOrder over the Connect protocol), as over gRPC", async () => {
    const response = await fetch(`${base}/shopmesh.order.v1.OrderService/WatchOrder`, {
      method: "POST",
      headers: { "content-type": "application/connect+proto", "connect-protocol-version": "1" },
      body: enveloped(malformed),
    });
    const body = Buffer.from(await response.arrayBuffer());
    const end = JSON.parse(body.subarray(5).toString()) as { error?: { code: string } };
    expect(end.error?.code).toBe("invalid_argument");
  });
});

/**
 * A Connect JSON call of GetOrder over `agent`: its HTTP status and Connection header,
 * or how it failed. A body given as several chunks is sent without a length, as
 * streaming clients (connect-node's transports, proxies) send it.
 */
function getOrder(agent: Agent, chunks: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    const call = httpRequest(
      {
        host: "127.0.0.1",
        port: server.httpPort,
        agent,
        method: "POST",
        path: "/shopmesh.order.v1.OrderService/GetOrder",
        headers: { "content-type": "application/json" },
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve(`${response.statusCode} ${response.headers.connection}`));
      },
    );
    // Bounds a call the server never answers, so that the test says so.
    call.setTimeout(2_000, () => call.destroy(new Error("no answer")));
    call.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    if (chunks.length === 1) call.end(chunks[0]);
    else {
      for (const chunk of chunks) call.write(chunk);
      call.end();
    }
  });
}

describe("a request body over the limit on the Connect listener", () => {
  it("is refused RESOURCE_EXHAUSTED, and the next call on the same keep-alive connection is answered", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const valid = JSON.stringify({ orderId: "0b0b0b0b-0b0b-4b0b-8b0b-0b0b0b0b0b0b" });
      const chunk = "x".repeat(64 * 1024);
      const oversized = [`{"orderId":"`, ...Array.from({ length: 32 }, () => chunk), `"}`];
      expect(await getOrder(agent, [valid])).toBe("200 keep-alive");
      expect(await getOrder(agent, oversized)).toMatch(/^429 /);
      expect(await getOrder(agent, [valid])).toMatch(/^200 /);
    } finally {
      agent.destroy();
    }
  });
});
