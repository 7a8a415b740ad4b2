/**
 * The development identity: a local HS256 key in .shopmesh/dev-key (created on first
 * use) that the services verify tokens with when no JWKS URL is configured, and that
 * signs demo tokens. Never used in production, where an identity provider signs.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { signDevToken } from "@shopmesh/auth";

export const stateDir = new URL("../.shopmesh/", import.meta.url);

/** The development key as base64url: AUTH_DEV_KEY if set, else the key file (created when missing). */
export function devKey(): string {
  if (process.env.AUTH_DEV_KEY) return process.env.AUTH_DEV_KEY;
  const file = new URL("dev-key", stateDir);
  if (!existsSync(file)) {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString("base64url"), { mode: 0o600 });
  }
  return readFileSync(file, "utf8").trim();
}

/** A token for a demo customer (or a service), signed with the development key. */
export function demoToken(role: "customer" | "service", subject: string): Promise<string> {
  return signDevToken(Buffer.from(devKey(), "base64url"), {
    role,
    subject,
    issuer: process.env.AUTH_ISSUER ?? "shopmesh-dev",
    audience: process.env.AUTH_AUDIENCE ?? "shopmesh",
  });
}
