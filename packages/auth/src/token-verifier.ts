import { createRemoteJWKSet, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import type { Caller } from "./caller.js";

/** Where keys come from and what tokens must say. */
export interface TokenVerifierOptions {
  /** The identity provider's JWKS URL (production). */
  readonly jwksUrl?: string;
  /** A shared HS256 key (development and tests); ignored when jwksUrl is set. */
  readonly devKey?: Uint8Array;
  readonly issuer: string;
  readonly audience: string;
}

/** Turns a bearer token into a caller, or throws when it is not valid. */
export type TokenVerifier = (token: string) => Promise<Caller>;

const cacheLimit = 10_000;

/**
 * Verifies bearer JWTs with jose: signature (a remote JWKS, or a local HS256 key in
 * development), issuer, audience, expiry. The `role` claim says whether the subject
 * is a customer or a service. Verified tokens are cached until they expire, so a
 * client reusing its token costs one map lookup per call.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const key: JWTVerifyGetKey | Uint8Array = options.jwksUrl
    ? createRemoteJWKSet(new URL(options.jwksUrl))
    : requireKey(options.devKey);
  const cache = new Map<string, { caller: Caller; expiresAt: number }>();
  return async (token) => {
    const cached = cache.get(token);
    if (cached && cached.expiresAt > Date.now()) return cached.caller;
    const { payload } = await jwtVerify(token, key as Uint8Array, {
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ["sub", "exp"],
    });
    const caller = callerFrom(payload);
    if (cache.size >= cacheLimit) cache.clear();
    cache.set(token, { caller, expiresAt: (payload.exp ?? 0) * 1000 });
    return caller;
  };
}

function callerFrom(payload: JWTPayload): Caller {
  const subject = payload.sub ?? "";
  if (!/^[A-Za-z0-9_.@:-]{1,64}$/.test(subject)) throw new Error("token subject is not a valid id");
  switch (payload.role) {
    case "customer":
      return { kind: "customer", customerId: subject };
    case "service":
      return { kind: "service", subject };
    default:
      throw new Error('token role must be "customer" or "service"');
  }
}

function requireKey(key: Uint8Array | undefined): Uint8Array {
  if (key === undefined || key.length < 32)
    throw new Error("a JWKS URL or a development key of at least 32 bytes is required");
  return key;
}
