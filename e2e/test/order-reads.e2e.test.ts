import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Mesh, startMesh } from "../src/mesh.js";

// The order service's reads at their edges: streams that end before the order is
// final, and page tokens used by another caller. Orders are written straight into the
// order database so that they stay PENDING for as long as a test needs.

let mesh: Mesh;
let alice: string;

beforeAll(async () => {
  mesh = await startMesh("order_reads");
  alice = await mesh.customerToken("alice");
});

afterAll(async () => {
  await mesh?.close();
});

/** A PENDING order of the customer's, as PlaceOrder writes one, that no saga moves. */
async function pendingOrder(customerId: string): Promise<string> {
  const orderId = randomUUID();
  await mesh.pools.order.query(
    `WITH o AS (
       INSERT INTO orders (order_id, customer_id, status, total_minor, currency, idempotency_key, request_hash)
       VALUES ($1::uuid, $2, 'pending', 1000, 'USD', $1::text, 'hash') RETURNING order_id, created_at
     ), line AS (
       INSERT INTO order_lines (order_id, line_no, sku, name, quantity, unit_price_minor)
       SELECT order_id, 1, 'SKU-READS', 'A thing', 1, 1000 FROM o
     )
     INSERT INTO order_history (order_id, seq, status, at) SELECT order_id, 1, 'pending', created_at FROM o`,
    [orderId, customerId],
  );
  return orderId;
}

/** The envelopes of a streamed body: flags and payload of each. */
function envelopes(body: Buffer): { flags: number; payload: Buffer }[] {
  const found: { flags: number; payload: Buffer }[] = [];
  for (let at = 0; at + 5 <= body.length; at += 5 + body.readUInt32BE(at + 1)) {
    found.push({ flags: body.readUInt8(at), payload: body.subarray(at + 5, at + 5 + body.readUInt32BE(at + 1)) });
  }
  return found;
}

/** Sends one enveloped request message to WatchOrder over the Connect listener and reads the whole stream. */
async function watchOver(headers: Record<string, string>, message: Buffer) {
  const request = Buffer.alloc(5 + message.length);
  request.writeUInt32BE(message.length, 1);
  message.copy(request, 5);
  const response = await fetch(`http://127.0.0.1:${mesh.ports.order.http}/shopmesh.order.v1.OrderService/WatchOrder`, {
    method: "POST",
    headers: { authorization: `Bearer ${alice}`, ...headers },
    body: request,
  });
  return envelopes(Buffer.from(await response.arrayBuffer()));
}

// Over gRPC, grpc-js ends a stream past its deadline with DEADLINE_EXCEEDED itself.
describe("a WatchOrder stream whose deadline passes before the order is final", () => {
  it("ends with deadline_exceeded over the Connect protocol, after the order's state", async () => {
    const orderId = await pendingOrder("alice");
    const stream = await watchOver(
      { "content-type": "application/connect+json", "connect-protocol-version": "1", "connect-timeout-ms": "500" },
      Buffer.from(JSON.stringify({ orderId })),
    );
    expect(stream.map(({ flags }) => flags)).toEqual([0, 2]);
    expect(JSON.parse(stream[0]?.payload.toString() ?? "{}").order.status).toBe("ORDER_STATUS_PENDING");
    expect(JSON.parse(stream[1]?.payload.toString() ?? "{}").error?.code).toBe("deadline_exceeded");
  });

  it("ends with DEADLINE_EXCEEDED (4) over gRPC-Web", async () => {
    const orderId = Buffer.from(await pendingOrder("alice"));
    // WatchOrderRequest { order_id = 1 }: tag 0x0a, then the length.
    const stream = await watchOver(
      { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", "grpc-timeout": "500m" },
      Buffer.concat([Buffer.from([0x0a, orderId.length]), orderId]),
    );
    expect(stream.map(({ flags }) => flags)).toEqual([0, 0x80]);
    expect(stream[1]?.payload.toString()).toMatch(/grpc-status: ?4\r\n/);
  });
});

describe("ListOrders page tokens", () => {
  it("are refused with INVALID_ARGUMENT when another customer sends one", async () => {
    for (let i = 0; i < 3; i++) await pendingOrder("dave");
    const dave = mesh.orders(await mesh.customerToken("dave"));
    const first = await dave.listOrders({ pageSize: 2 });
    expect(first.orders).toHaveLength(2);
    expect((await dave.listOrders({ pageSize: 2, pageToken: first.nextPageToken })).orders).toHaveLength(1);

    const erin = mesh.orders(await mesh.customerToken("erin"));
    const refused = await erin.listOrders({ pageSize: 2, pageToken: first.nextPageToken }).then(
      () => undefined,
      (error: unknown) => ConnectError.from(error),
    );
    expect(refused?.code).toBe(Code.InvalidArgument);
    expect(refused?.rawMessage).toMatch(/issued to another caller/);
  });
  it("are refused with INVALID_ARGUMENT with characters added, which a lenient decoder would skip", async () => {
    for (let i = 0; i < 2; i++) await pendingOrder("frank");
    const frank = mesh.orders(await mesh.customerToken("frank"));
    const { nextPageToken } = await frank.listOrders({ pageSize: 1 });
    expect(nextPageToken).not.toBe("");
    const altered = [
      `..${nextPageToken}`,
      `${nextPageToken}!!!`,
      `${nextPageToken.slice(0, 10)}*${nextPageToken.slice(10)}`,
    ];
    const answers = await Promise.all(
      altered.map((pageToken) =>
        frank.listOrders({ pageSize: 1, pageToken }).then(
          () => "OK",
          (error: unknown) => ConnectError.from(error).rawMessage,
        ),
      ),
    );
    expect(answers).toEqual(altered.map(() => "page_token is not a token this service issued"));
  });
});
