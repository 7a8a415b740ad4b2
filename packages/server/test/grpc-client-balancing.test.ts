import { CatalogService } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import { freePort, waitFor } from "@shopmesh/testing";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createGrpcClient, type RunningServer, registerService, startServer } from "../src/index.js";

/** A catalog server that names itself in every answer, so the test sees who served a call. */
function replica(name: string, grpcPort: number): Promise<RunningServer> {
  return startServer({
    logger: pino({ level: "silent" }),
    grpcAddress: `127.0.0.1:${grpcPort}`,
    httpAddress: "127.0.0.1:0",
    shutdownGraceMs: 200,
    services: [
      registerService(CatalogService, {
        getProduct: ({ sku }) => ({ product: { sku, name } }),
        listProducts: () => ({ products: [] }),
        batchGetProducts: ({ skus }) => ({ products: [], missingSkus: skus }),
      }),
    ],
  }).then((server) => {
    server.markServing();
    return server;
  });
}

describe("createGrpcClient balances calls over every address of its target", () => {
  const servers: RunningServer[] = [];
  const clients: { close(): void }[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  async function servedBy(client: ReturnType<typeof createGrpcClient<typeof CatalogService>>, calls: number) {
    const counts: Record<string, number> = {};
    for (let call = 0; call < calls; call++) {
      const { product } = await client.getProduct({ sku: "SKU-1" });
      const name = product?.name ?? "?";
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  }

  it("spreads calls evenly over two replicas behind one long-lived client, and survives losing one", async () => {
    const ports = [await freePort(), await freePort()];
    servers.push(await replica("a", ports[0] ?? 0), await replica("b", ports[1] ?? 0));
    const client = createGrpcClient(CatalogService, {
      target: `ipv4:127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`,
      defaultTimeoutMs: 2_000,
    });
    clients.push(client);
    // round_robin connects to both in the background: wait until both have answered.
    await waitFor(async () => Object.keys(await servedBy(client, 4)).length === 2, {
      timeoutMs: 3_000,
      description: "both replicas to take calls",
    });
    expect(await servedBy(client, 20)).toEqual({ a: 10, b: 10 });

    await servers.shift()?.close();
    // Every call still succeeds: the closed replica's connection is dropped from the
    // rotation, and a call that raced it is retried (GetProduct has no side effects).
    const after = await servedBy(client, 20);
    expect(after).toEqual({ b: 20 });
  });

  it("still calls a single-address target", async () => {
    const port = await freePort();
    servers.push(await replica("only", port));
    const client = createGrpcClient(CatalogService, { target: `127.0.0.1:${port}` });
    clients.push(client);
    expect(await servedBy(client, 5)).toEqual({ only: 5 });
  });
});
