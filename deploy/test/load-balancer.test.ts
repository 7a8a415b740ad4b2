import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@shopmesh/testing";
import { afterEach, describe, expect, it } from "vitest";
import { startLoadBalancer } from "../src/load-balancer.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe("the scaling run's load balancer", () => {
  it("fails at once, saying so, when nginx cannot be started (the run then cleans up)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "shopmesh-lb-"));
    dirs.push(dir);
    const started = startLoadBalancer({
      dir,
      grpcPort: await freePort(),
      httpPort: await freePort(),
      upstreams: { orderGrpc: ["127.0.0.1:1"], orderConnect: ["127.0.0.1:1"], catalogConnect: ["127.0.0.1:1"] },
      binary: join(dir, "no-such-nginx"),
    });
    await expect(started).rejects.toThrow(/nginx did not start \(spawn .*no-such-nginx ENOENT\)/);
  });
});
