import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startPrivateNats } from "../src/index.js";

describe("startPrivateNats, when its port is taken", () => {
  it("fails, rather than handing out the NATS server that holds the port", async () => {
    // Another clone's `npm start` (or any nats-server) already listens on the port.
    const other = await startPrivateNats();
    const port = Number(new URL(other.url).port);
    const dir = mkdtempSync(join(tmpdir(), "shopmesh-nats-taken-"));
    try {
      const outcome = await startPrivateNats({ dir, port }).then(
        async (server) => {
          await server.stop();
          return `started on ${server.url}`;
        },
        (error: Error) => error.message,
      );
      expect(outcome).toContain("nats-server did not start");
      expect(outcome).toContain(`${port}`);
    } finally {
      await other.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
