import http2 from "node:http2";

/**
 * Calls made byte by byte, where a client library would get in the way: its own
 * deadline timer answers DEADLINE_EXCEEDED whatever the server says, and it refuses
 * to send what the tests send (bytes that are not UTF-8).
 */

/** A message in the gRPC / gRPC-Web / Connect streaming envelope: a flags byte, a length, the bytes. */
export function envelope(bytes: Uint8Array): Buffer {
  const framed = Buffer.alloc(5 + bytes.length);
  framed.writeUInt32BE(bytes.length, 1);
  Buffer.from(bytes).copy(framed, 5);
  return framed;
}

/** A unary gRPC call over HTTP/2; answers the grpc-status the server sent (trailers, or headers alone). */
export async function rawGrpc(port: number, path: string, body: Buffer, headers: Record<string, string>) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise<{ status: number; message: string }>((resolve, reject) => {
      const request = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        ...headers,
      });
      let responseHeaders: http2.IncomingHttpHeaders = {};
      const answer = (from: http2.IncomingHttpHeaders) =>
        resolve({ status: Number(from["grpc-status"]), message: String(from["grpc-message"] ?? "") });
      request.on("response", (received) => {
        responseHeaders = received;
      });
      request.on("data", () => {});
      request.on("trailers", answer);
      request.on("end", () => answer(responseHeaders));
      request.on("error", reject);
      request.end(body);
    });
  } finally {
    session.close();
  }
}

/** A unary gRPC-Web call (binary) over HTTP/1.1; answers the grpc-status of its trailer frame. */
export async function rawGrpcWeb(port: number, path: string, body: Buffer, headers: Record<string, string>) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", ...headers },
    body,
  });
  const text = Buffer.from(await response.arrayBuffer()).toString("latin1");
  const status = /grpc-status: ?(\d+)/.exec(text)?.[1] ?? response.headers.get("grpc-status");
  return { status: Number(status) };
}
