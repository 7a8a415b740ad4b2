import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { CatalogService } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import { StockService } from "@shopmesh/gen/shopmesh/inventory/v1/stock_service_pb.js";
import { type RunningService, runService } from "@shopmesh/runtime";
import { createGrpcClient } from "@shopmesh/server";
import { useTestDatabase, useTestNats } from "@shopmesh/testing";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inventoryService } from "../src/service.js";

// The inventory service verifying tokens against an identity provider's JWKS that
// this file controls: it can answer, hang, or rotate its keys.

const db = useTestDatabase("idp");
const nats = useTestNats("idp");
const issuer = "https://id.example";
const audience = "shopmesh";

type Mode = "answer" | "hang";
let mode: Mode = "answer";
let keys: { kid: string; pair: Awaited<ReturnType<typeof generateKeyPair>> }[] = [];
let fetches = 0;
const hanging: ServerResponse[] = [];
const idp = createServer(async (_request, response) => {
  fetches++;
  if (mode === "hang") {
    hanging.push(response); // never answered: an identity provider that stopped responding
    return;
  }
  const jwks = await Promise.all(
    keys.map(async ({ kid, pair }) => ({ ...(await exportJWK(pair.publicKey)), kid, alg: "ES256", use: "sig" })),
  );
  response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: jwks }));
});

let service: RunningService;
let grpcTarget: string;

beforeAll(async () => {
  keys = [{ kid: "k1", pair: await generateKeyPair("ES256") }];
  await new Promise<void>((resolve) => idp.listen(0, "127.0.0.1", resolve));
  service = await runService(inventoryService, {
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    EVENT_NAMESPACE: nats.prefix,
    GRPC_ADDRESS: "127.0.0.1:0",
    HTTP_ADDRESS: "127.0.0.1:0",
    AUTH_JWKS_URL: `http://127.0.0.1:${(idp.address() as AddressInfo).port}/jwks.json`,
    AUTH_ISSUER: issuer,
    AUTH_AUDIENCE: audience,
    LOG_LEVEL: "silent",
  });
  grpcTarget = `127.0.0.1:${service.server.grpcPort}`;
});

afterAll(async () => {
  for (const response of hanging) response.destroy();
  await service?.close();
  idp.closeAllConnections();
  await new Promise<void>((resolve) => idp.close(() => resolve()));
});

function token(kid: string, role: "customer" | "service", subject: string) {
  const key = keys.find((candidate) => candidate.kid === kid);
  if (!key) throw new Error(`no key ${kid}`);
  return new SignJWT({ role })
    .setProtectedHeader({ alg: "ES256", kid })
    .setSubject(subject)
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(key.pair.privateKey);
}

async function outcome(call: Promise<unknown>): Promise<{ code: Code | "ok"; ms: number }> {
  const started = Date.now();
  const code = await call.then(
    () => "ok" as const,
    (error: unknown) => ConnectError.from(error).code,
  );
  return { code, ms: Date.now() - started };
}

describe("the anonymous catalog while the identity provider does not answer", () => {
  it("answers a call that carries a bearer token as fast as one without: the catalog needs no identity", async () => {
    mode = "hang";
    try {
      const bearer = await token("k1", "customer", "alice");
      const anonymous = createGrpcClient(CatalogService, { target: grpcTarget });
      const withToken = createGrpcClient(CatalogService, {
        target: grpcTarget,
        headers: () => ({ authorization: `Bearer ${bearer}` }),
      });
      try {
        // An unknown SKU: NOT_FOUND is the catalog's answer, to anyone.
        expect(await outcome(anonymous.getProduct({ sku: "NO-SUCH-1" }, { timeoutMs: 2_000 }))).toMatchObject({
          code: Code.NotFound,
        });
        const carried = await outcome(withToken.getProduct({ sku: "NO-SUCH-1" }, { timeoutMs: 2_000 }));
        // The token is not verified: nothing reads the caller of a catalog call, and
        // verifying would wait up to jose's 5 s JWKS timeout. (The call opens its own
        // connection: the bound leaves a busy machine room for that, not for 5 s.)
        expect(carried.code).toBe(Code.NotFound);
        expect(carried.ms).toBeLessThan(2_500);
      } finally {
        anonymous.close();
        withToken.close();
      }
    } finally {
      mode = "answer";
      for (const response of hanging.splice(0)) response.destroy();
    }
  });
});

describe("a key the identity provider has just added (rotation)", () => {
  it("accepts a valid token signed with the new key, or at worst answers UNAVAILABLE (retry), never UNAUTHENTICATED", async () => {
    const stock = (bearer: string) =>
      createGrpcClient(StockService, { target: grpcTarget, headers: () => ({ authorization: `Bearer ${bearer}` }) });
    // The service reads the JWKS for a first token (key k1)...
    const before = stock(await token("k1", "service", "operator"));
    try {
      expect((await outcome(before.getStock({ sku: "ROT-1" }))).code).toBe(Code.NotFound);
    } finally {
      before.close();
    }
    // ...then the provider adds k2 and starts signing with it, as providers rotate.
    keys.push({ kid: "k2", pair: await generateKeyPair("ES256") });
    const after = stock(await token("k2", "service", "operator"));
    try {
      const fetchesBefore = fetches;
      const answer = await outcome(after.getStock({ sku: "ROT-1" }));
      // jose alone would not read the set again within 30 s of its last read, and would
      // refuse the token as bad: UNAUTHENTICATED, on which the storefront signs out.
      expect({ refused: answer.code === Code.Unauthenticated, refetched: fetches > fetchesBefore }).toEqual({
        refused: false,
        refetched: true,
      });
    } finally {
      after.close();
    }
  });
});
