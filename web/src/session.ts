import type { IdentityConfig } from "./config.js";

/** A signed-in customer: the bearer token the services verify, and who it names. */
export interface Session {
  readonly token: string;
  readonly customerId: string;
  /** Milliseconds since the epoch; the session is dropped after it. */
  readonly expiresAt: number;
}

const sessionKey = "shopmesh.session.v1";
const pkceKey = "shopmesh.pkce.v1";

/**
 * Reads subject and expiry from a JWT without verifying it: the services verify
 * every call; the browser only needs to show who is signed in and when to sign in again.
 */
export function sessionFromToken(token: string): Session | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    // atob answers one character per byte: the JSON is UTF-8, and a subject an identity
    // provider spells with non-ASCII letters would come out garbled.
    const bytes = Uint8Array.from(atob(payload.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as { sub?: unknown; exp?: unknown };
    if (typeof claims.sub !== "string" || typeof claims.exp !== "number") return undefined;
    return { token, customerId: claims.sub, expiresAt: claims.exp * 1000 };
  } catch {
    return undefined;
  }
}

/** The session kept for this tab, unless it has expired. */
export function loadSession(storage: Pick<Storage, "getItem">, now = Date.now()): Session | undefined {
  const session = sessionFromToken(storage.getItem(sessionKey) ?? "");
  return session && session.expiresAt > now + 30_000 ? session : undefined;
}

/** Keeps (or, with undefined, forgets) the session for this tab. */
export function saveSession(storage: Pick<Storage, "setItem" | "removeItem">, session: Session | undefined): void {
  if (session) storage.setItem(sessionKey, session.token);
  else storage.removeItem(sessionKey);
}

/**
 * Development sign-in: asks the token endpoint that `npm start` serves for a demo
 * customer's token. The signing key stays in that server; the page never holds it.
 */
export async function devSignIn(identity: Extract<IdentityConfig, { kind: "dev" }>, customerId: string) {
  const url = new URL(identity.tokenUrl, document.baseURI);
  url.searchParams.set("customer", customerId);
  const response = await fetch(url, { method: "POST" });
  if (!response.ok) throw new Error(`the development sign-in answered ${response.status}: ${await response.text()}`);
  const { token } = (await response.json()) as { token?: string };
  const session = token ? sessionFromToken(token) : undefined;
  if (!session) throw new Error("the development sign-in answered no usable token");
  return session;
}

type Oidc = Extract<IdentityConfig, { kind: "oidc" }>;

/** The identity provider's authorization URL for a code flow with PKCE (S256). */
export function authorizeUrl(identity: Oidc, redirectUri: string, state: string, challenge: string): string {
  const url = new URL(identity.authorizeUrl);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", identity.clientId);
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("scope", identity.scope);
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", challenge);
  url.searchParams.set("code_challenge_method", "S256");
  if (identity.audience) url.searchParams.set("audience", identity.audience);
  return url.toString();
}

/** Production sign-in, step 1: sends the browser to the identity provider. */
export async function beginOidcSignIn(identity: Oidc): Promise<void> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(pkceKey, JSON.stringify({ verifier, state }));
  window.location.assign(authorizeUrl(identity, redirectUri(), state, base64url(digest)));
}

/** The parameters of an authorization response (RFC 6749 §4.1.2, RFC 9207, OIDC session management). */
const answerParams = ["code", "state", "error", "error_description", "error_uri", "iss", "session_state"] as const;

/** What the identity provider sent back in the address: a code and its state, or an error. */
export type SignInAnswer = Readonly<Partial<Record<(typeof answerParams)[number], string>>>;

/**
 * Production sign-in, on return: takes the identity provider's answer out of the
 * address bar, and the history entry, before anything else runs. A one-time code left
 * there would be in every Referer, bookmark and shared link, and the page's other
 * requests start as soon as the config is read. Taken whether or not a sign-in is
 * pending in this tab: a stale or foreign code is not left behind either.
 */
export function takeSignInAnswer(page: Pick<Window, "location" | "history">): SignInAnswer {
  const url = new URL(page.location.href);
  const answer: { -readonly [name in keyof SignInAnswer]: string } = {};
  for (const name of answerParams) {
    const value = url.searchParams.get(name);
    if (value === null) continue;
    answer[name] = value;
    url.searchParams.delete(name);
  }
  if (Object.keys(answer).length > 0) page.history.replaceState(page.history.state, "", url);
  return answer;
}

/**
 * Production sign-in, step 2: with the answer's code (see takeSignInAnswer), asks for an
 * access token. Undefined when no sign-in of this tab is answered; rejects, saying why in
 * words for the page, when the answer is the provider's refusal (`?error=`), belongs to
 * another request, or the token request fails. The pending sign-in is forgotten then too.
 */
export async function completeOidcSignIn(identity: Oidc, answer: SignInAnswer): Promise<Session | undefined> {
  const { code, error } = answer;
  const pending = JSON.parse(sessionStorage.getItem(pkceKey) ?? "null") as { verifier: string; state: string } | null;
  if ((!code && !error) || !pending) return undefined;
  sessionStorage.removeItem(pkceKey);
  if (answer.state !== pending.state) throw new Error("the sign-in answer does not match the request");
  if (error || !code) throw new Error(`the identity provider refused it: ${answer.error_description || error}`);
  const response = await fetch(identity.tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri(),
      client_id: identity.clientId,
      code_verifier: pending.verifier,
    }),
  });
  if (!response.ok) throw new Error(`the identity provider answered ${response.status} to the token request`);
  const { access_token: token } = (await response.json()) as { access_token?: string };
  return token ? sessionFromToken(token) : undefined;
}

function redirectUri(): string {
  return `${window.location.origin}${window.location.pathname}`;
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}
