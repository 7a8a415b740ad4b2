import { connect } from "node:http2";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { redactCredentials } from "../src/grpc-logs.js";
import { startServer } from "../src/index.js";

describe("grpc-js's own log lines", () => {
  it("reach the service's logger without the bearer token of a malformed authorization header", async () => {
    const lines: { source?: string; msg: string }[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const server = await startServer({ logger, grpcAddress: "127.0.0.1:0", httpAddress: "127.0.0.1:0", services: [] });
    const session = connect(`http://127.0.0.1:${server.grpcPort}`);
    try {
      // A non-ASCII character makes grpc-js refuse the header, and it quotes the header in full.
      const call = session.request({
        ":method": "POST",
        ":path": "/grpc.health.v1.Health/Check",
        "content-type": "application/grpc",
        te: "trailers",
        authorization: "Bearer secret-token-\u00e9",
      });
      call.end(Buffer.alloc(5));
      call.resume();
      await new Promise((resolve) => call.on("close", resolve));
    } finally {
      session.close();
      await server.close();
    }
    const fromGrpc = lines.filter((line) => line.source === "grpc-js");
    expect(fromGrpc.some((line) => line.msg.includes("authorization: Bearer [redacted]"))).toBe(true);
    expect(JSON.stringify(lines)).not.toContain("secret-token");
  });

  it("keep everything but the credential", () => {
    expect(redactCredentials("Failed to add metadata entry authorization: Bearer ab.cd.ef\u00e9. Metadata")).toBe(
      "Failed to add metadata entry authorization: Bearer [redacted] Metadata",
    );
    expect(redactCredentials('{"authorization":"Basic dXNlcjpwYXNz"}')).toBe('{"authorization":"[redacted]"}');
  });
});
