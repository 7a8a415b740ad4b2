import { createRemoteJWKSet, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
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
 * The identity provider's keys could not be had (its JWKS endpoint down, slow or
 * answering garbage): the token is not known to be bad, so the caller should retry.
 */
export class KeysUnavailableError extends Error {
  override name = "KeysUnavailableError";
}

/**
 * Verifies bearer JWTs with jose: signature (a remote JWKS, or a local HS256 key in
 * development), issuer, audience, expiry. The `role` claim says whether the subject
 * is a customer or a service. Verified tokens are cached until they expire, so a
 * client reusing its token costs one map lookup per call.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const key: JWTVerifyGetKey | Uint8Array = options.jwksUrl
    ? remoteKeys(new URL(options.jwksUrl))
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

/** The JWKS's key for a token; KeysUnavailableError when the JWKS cannot be read. */
function remoteKeys(url: URL): JWTVerifyGetKey {
  const jwks = createRemoteJWKSet(url);
  return async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (error) {
      // The token names no key of the set, or an ambiguous one: the token is bad.
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new KeysUnavailableError(`the keys at ${url.href} cannot be read`, { cause: error });
    }
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
