import { OrderService } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, registerService, startServer } from "../src/index.js";

// The public Connect / gRPC-Web listener at its edge: bytes that are not a message.

let server: RunningServer;
let base: string;

beforeAll(async () => {
  server = await startServer({
    logger: pino({ level: "silent" }),
    grpcAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    services: [
      registerService(OrderService, {
        placeOrder: () => ({}),
        getOrder: () => ({}),
        listOrders: () => ({}),
        cancelOrder: () => ({}),
        async *watchOrder() {},
      }),
    ],
  });
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
