import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createContextValues, type UnaryRequest } from "@connectrpc/connect";
import { OrderService } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthInterceptor } from "./auth-interceptor.js";
import { createTokenVerifier, KeysUnavailableError } from "./token-verifier.js";

const issuer = "https://id.example";
const audience = "shopmesh";
let keys: Awaited<ReturnType<typeof generateKeyPair>>;
let jwksUrl: string;
const server = createServer();

beforeAll(async () => {
  keys = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  server.on("request", (_request, response) => {
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const token = (kid: string) =>
  new SignJWT({ role: "customer" })
    .setProtectedHeader({ alg: "ES256", kid })
    .setSubject("alice")
    .setIssuer(issuer)
    .setAudience(audience)
    .setExpirationTime("5m")
    .sign(keys.privateKey);

describe("tokens verified against an identity provider's JWKS", () => {
  it("accepts a token signed with a key of the set", async () => {
    const verify = createTokenVerifier({ jwksUrl, issuer, audience });
    expect(await verify(await token("k1"))).toEqual({ kind: "customer", customerId: "alice" });
  });

  it("refuses a token naming no key of the set as bad, not as keys unavailable", async () => {
    const verify = createTokenVerifier({ jwksUrl, issuer, audience });
    const refusal = await verify(await token("unknown")).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(Error);
    expect(refusal).not.toBeInstanceOf(KeysUnavailableError);
  });

  it("says the keys are unavailable when the JWKS cannot be fetched", async () => {
    const unreachable = new URL(jwksUrl);
    unreachable.port = "1";
    const verify = createTokenVerifier({ jwksUrl: unreachable.href, issuer, audience });
    await expect(verify(await token("k1"))).rejects.toBeInstanceOf(KeysUnavailableError);
  });
});

describe("the auth interceptor", () => {
  it("answers UNAVAILABLE, which clients retry, when a customer's token cannot be checked now", async () => {
    const unreachable = new URL(jwksUrl);
    unreachable.port = "1";
    const interceptor = createAuthInterceptor(createTokenVerifier({ jwksUrl: unreachable.href, issuer, audience }));
    const request = {
      service: OrderService,
      method: OrderService.method.getOrder,
      header: new Headers({ authorization: `Bearer ${await token("k1")}` }),
      contextValues: createContextValues(),
    } as unknown as UnaryRequest;
    const answer = await interceptor(async () => {
      throw new Error("the handler must not run");
    })(request).catch((error: unknown) => ConnectError.from(error));
    expect((answer as ConnectError).code).toBe(Code.Unavailable);
  });
});
