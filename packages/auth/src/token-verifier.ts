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
 * The clock skew allowed between the identity provider and this host, in seconds, on
 * `nbf` and `exp` (RFC 7519's "small leeway"): hosts kept by NTP still differ by a
 * few seconds, and a token issued a moment ago would otherwise not yet be valid.
 */
const clockToleranceS = 30;
/**
 * A token naming a key the set lacks has the set read again, at most this often: the
 * provider may have just added the key (a rotation), and jose alone would not read it
 * again within 30 s of its last read — so a valid token would be refused as bad.
 */
const unknownKeyReloadMs = 5_000;

/**
 * The signature algorithms a token may name. `alg` is the sender's claim, so it is
 * checked against the key source before any key is looked up, and "none", HS256
 * against the JWKS (algorithm confusion) or an unknown name is a bad token rather than
 * a failed lookup. An identity provider signs with a key pair of its choosing, so every
 * asymmetric JWS algorithm jose verifies is allowed; the development key is HS256 only.
 */
const jwksAlgorithms = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];
const devKeyAlgorithms = ["HS256"];

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
  const algorithms = options.jwksUrl ? jwksAlgorithms : devKeyAlgorithms;
  const cache = new Map<string, { caller: Caller; expiresAt: number }>();
  return async (token) => {
    const cached = cache.get(token);
    if (cached && cached.expiresAt > Date.now()) return cached.caller;
    const { payload } = await jwtVerify(token, key as Uint8Array, {
      issuer: options.issuer,
      audience: options.audience,
      algorithms,
      requiredClaims: ["sub", "exp"],
      clockTolerance: clockToleranceS,
    });
    const caller = callerFrom(payload);
    if (cache.size >= cacheLimit) cache.clear();
    cache.set(token, { caller, expiresAt: (payload.exp ?? 0) * 1000 });
    return caller;
  };
}

/** The JWKS's key for a token; KeysUnavailableError only when the JWKS cannot be read. */
function remoteKeys(url: URL): JWTVerifyGetKey {
  const jwks = createRemoteJWKSet(url);
  let reloading: Promise<void> | undefined;
  let reloadedAt = Number.NEGATIVE_INFINITY;
  const keyFor: JWTVerifyGetKey = async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // Tokens naming the new key at once share one reload; a stream of unknown keys
      // (garbage, an attack) reads the set at most once per unknownKeyReloadMs.
      if (!reloading && performance.now() - reloadedAt >= unknownKeyReloadMs) {
        reloadedAt = performance.now();
        reloading = jwks.reload().finally(() => {
          reloading = undefined;
        });
      }
      if (!reloading) throw error;
      await reloading;
      return await jwks(header, token);
    }
  };
  return async (header, token) => {
    try {
      return await keyFor(header, token);
    } catch (error) {
      if (isUnreadable(error))
        throw new KeysUnavailableError(`the keys at ${url.href} cannot be read`, { cause: error });
      // Anything else names the token: no key of the set, an ambiguous one, an alg the set cannot serve.
      throw error;
    }
  };
}

/**
 * Whether a JWKS lookup failed for want of the set: a timeout, a malformed set or key
 * of the set, an answer that is not 200 or not JSON (jose's generic JOSEError), or a
 * failure outside jose (fetch's network TypeError, WebCrypto refusing a key). jose's
 * specific errors (no matching key, alg not supported, …) describe the token instead.
 */
function isUnreadable(error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true;
  return (
    error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error.code === errors.JOSEError.code
  );
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
