import { SignJWT } from "jose";

/** What a development token says. */
export interface DevTokenRequest {
  readonly role: "customer" | "service";
  readonly subject: string;
  readonly issuer: string;
  readonly audience: string;
  /** Lifetime in seconds (default 12 hours). */
  readonly ttlSeconds?: number;
}

/**
 * Signs a token with the local development key, as an identity provider would in
 * production. Only for development and tests: production verifies against a JWKS URL
 * and never holds a signing key.
 */
export function signDevToken(key: Uint8Array, request: DevTokenRequest): Promise<string> {
  return new SignJWT({ role: request.role })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(request.subject)
    .setIssuer(request.issuer)
    .setAudience(request.audience)
    .setIssuedAt()
    .setExpirationTime(`${request.ttlSeconds ?? 12 * 3600}s`)
    .sign(key);
}
