import { Server as HttpServer } from "node:http";
import { queryObjects } from "node:v8";
import { waitFor } from "@shopmesh/testing";
import { describe, it } from "vitest";
import { startEmptyCatalog } from "./empty-catalog.js";

// http.Server.close() also clears the server's connection-checking interval; without
// it, the closed server, its Connect handler and all the routes hold (pools, clients)
// stay reachable for ever — every server a test file or e2e mesh stops would leak.
async function startAndClose() {
  const server = await startEmptyCatalog();
  await server.close();
}

/** Live http.Server objects (queryObjects collects garbage first). */
function liveHttpServers(): number {
  return queryObjects(HttpServer, { format: "count" }) as number;
}

describe("a server that has shut down", () => {
  it("leaves nothing behind that keeps it alive", async () => {
    const before = liveHttpServers();
    for (let n = 0; n < 5; n++) await startAndClose();
    // grpc-js may still hold a server for a moment after its shutdown: wait for none left.
    await waitFor(() => liveHttpServers() - before === 0, { timeoutMs: 5_000, description: "no stopped server alive" });
  });
});
