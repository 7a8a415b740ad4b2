import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createContextValues, type UnaryRequest } from "@connectrpc/connect";
import { OrderService } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthInterceptor } from "./auth-interceptor.js";
import { createTokenVerifier, KeysUnavailableError, type TokenVerifier } from "./token-verifier.js";

const issuer = "https://id.example";
const audience = "shopmesh";
let keys: Awaited<ReturnType<typeof generateKeyPair>>;
let jwksUrl: string;
const server = createServer();
let jwksReads = 0;

beforeAll(async () => {
  keys = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
  server.on("request", (request, response) => {
    jwksReads++;
    if (request.url === "/broken") response.writeHead(502).end("bad gateway");
    else response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
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

  it("reads the set again for tokens naming unknown keys at most once in 5 s, however many come", async () => {
    const verify = createTokenVerifier({ jwksUrl, issuer, audience });
    await verify(await token("k1"));
    const readsBefore = jwksReads;
    const unknown = await Promise.all(Array.from({ length: 20 }, (_, n) => token(`unknown-${n}`)));
    const refusals = await Promise.all(unknown.map((bad) => verify(bad).catch((error: unknown) => error)));
    for (const bad of unknown.slice(0, 5)) refusals.push(await verify(bad).catch((error: unknown) => error));
    expect(jwksReads - readsBefore).toBe(1);
    for (const refusal of refusals) {
      expect(refusal).toBeInstanceOf(Error);
      expect(refusal).not.toBeInstanceOf(KeysUnavailableError);
    }
  });

  it("refuses a token whose alg is none, HS256 (algorithm confusion) or unknown as bad, not as keys unavailable", async () => {
    const verifier = createTokenVerifier({ jwksUrl, issuer, audience });
    const hs256 = await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", kid: "k1" }).sign(new Uint8Array(32));
    const unsigned = (alg: string) => `${base64url({ alg, kid: "k1" })}.${base64url(claims())}.c2ln`;
    expect(await codesFor(verifier, [unsigned("none"), hs256, unsigned("XYZ")])).toEqual([
      Code.Unauthenticated,
      Code.Unauthenticated,
      Code.Unauthenticated,
    ]);
  });

  it("says the keys are unavailable when the JWKS answers an error", async () => {
    const verify = createTokenVerifier({ jwksUrl: new URL("/broken", jwksUrl).href, issuer, audience });
    await expect(verify(await token("k1"))).rejects.toBeInstanceOf(KeysUnavailableError);
  });

  it("says the keys are unavailable when the JWKS cannot be fetched", async () => {
    const unreachable = new URL(jwksUrl);
    unreachable.port = "1";
    const verify = createTokenVerifier({ jwksUrl: unreachable.href, issuer, audience });
    await expect(verify(await token("k1"))).rejects.toBeInstanceOf(KeysUnavailableError);
  });
});

describe("tokens verified with the development key", () => {
  const devKey = new Uint8Array(32).fill(7);
  const verifier = createTokenVerifier({ devKey, issuer, audience });

  it("accepts HS256 only: a token signed with the same key under HS512 or unsigned is UNAUTHENTICATED", async () => {
    const signed = (alg: string) => new SignJWT(claims()).setProtectedHeader({ alg }).sign(devKey);
    expect(
      await codesFor(verifier, [
        await signed("HS256"),
        await signed("HS512"),
        `${base64url({ alg: "none" })}.${base64url(claims())}.`,
      ]),
    ).toEqual(["ok", Code.Unauthenticated, Code.Unauthenticated]);
  });

  it("accepts a token issued just now by a provider whose clock runs 5 s ahead (RFC 7519's leeway)", async () => {
    // NTP keeps the provider's clock and this host's within a few seconds, not closer.
    const now = Math.floor(Date.now() / 1000) + 5;
    const issuedAhead = await new SignJWT({ role: "customer" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("alice")
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 300)
      .sign(devKey);
    await expect(verifier(issuedAhead)).resolves.toEqual({ kind: "customer", customerId: "alice" });
  });
});

describe("the auth interceptor", () => {
  it("answers UNAVAILABLE, which clients retry, when a customer's token cannot be checked now", async () => {
    const unreachable = new URL(jwksUrl);
    unreachable.port = "1";
    const verifier = createTokenVerifier({ jwksUrl: unreachable.href, issuer, audience });
    expect(await codesFor(verifier, [await token("k1")])).toEqual([Code.Unavailable]);
  });
});

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const claims = () => ({
  role: "customer",
  sub: "alice",
  iss: issuer,
  aud: audience,
  exp: Math.floor(Date.now() / 1000) + 300,
});

/** What the auth interceptor answers a customer RPC carrying each token ("ok" when the handler runs). */
async function codesFor(verifier: TokenVerifier, tokens: readonly string[]): Promise<(Code | "ok")[]> {
  const interceptor = createAuthInterceptor(verifier);
  return Promise.all(
    tokens.map((bearer) => {
      const request = {
        service: OrderService,
        method: OrderService.method.getOrder,
        header: new Headers({ authorization: `Bearer ${bearer}` }),
        contextValues: createContextValues(),
      } as unknown as UnaryRequest;
      return interceptor(async () => ({}) as never)(request).then(
        () => "ok" as const,
        (error: unknown) => ConnectError.from(error).code,
      );
    }),
  );
}
