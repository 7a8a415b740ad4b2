import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { authorizeUrl, completeOidcSignIn, loadSession, sessionFromToken, takeSignInAnswer } from "./session.js";

const jwt = (claims: object) =>
  ["e30", Buffer.from(JSON.stringify(claims)).toString("base64url"), "signature"].join(".");

describe("session", () => {
  it("reads who is signed in and until when from the token", () => {
    const token = jwt({ sub: "alice", exp: 2_000_000_000, role: "customer" });
    expect(sessionFromToken(token)).toEqual({ token, customerId: "alice", expiresAt: 2_000_000_000_000 });
    expect(sessionFromToken("not-a-jwt")).toBeUndefined();
  });

  it("reads a subject spelled with non-ASCII letters as it is (the token's JSON is UTF-8)", () => {
    const token = jwt({ sub: "zoë-müller-東京", exp: 2_000_000_000 });
    expect(sessionFromToken(token)?.customerId).toBe("zoë-müller-東京");
  });

  it("drops a stored session that has expired", () => {
    const token = jwt({ sub: "alice", exp: 1_000 });
    expect(loadSession({ getItem: () => token }, 2_000_000)).toBeUndefined();
    expect(loadSession({ getItem: () => token }, 0)?.customerId).toBe("alice");
  });

  it("asks the identity provider for a code with PKCE", () => {
    const url = new URL(
      authorizeUrl(
        {
          kind: "oidc",
          authorizeUrl: "https://id.example/authorize",
          tokenUrl: "https://id.example/token",
          clientId: "storefront",
          scope: "openid",
          audience: "shopmesh",
        },
        "https://shop.example/",
        "state-1",
        "challenge-1",
      ),
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: "code",
      client_id: "storefront",
      redirect_uri: "https://shop.example/",
      scope: "openid",
      state: "state-1",
      code_challenge: "challenge-1",
      code_challenge_method: "S256",
      audience: "shopmesh",
    });
  });
});

/** A tab's address and history, as takeSignInAnswer sees them. */
function tab(href: string) {
  const entries = [href];
  return {
    location: {
      get href() {
        return entries.at(-1) ?? "";
      },
    } as Location,
    history: {
      state: null,
      replaceState: (_state: unknown, _unused: string, url?: string | URL | null) => {
        entries[entries.length - 1] = new URL(String(url), entries.at(-1)).href;
      },
    } as History,
    entries,
  };
}

describe("the identity provider's answer in the address", () => {
  it("is taken out of the address and its history entry, leaving the rest of the URL", () => {
    const page = tab(
      "https://shop.example/shop/?code=the-code&state=the-state&iss=https%3A%2F%2Fid.example&keep=1#/checkout",
    );
    expect(takeSignInAnswer(page)).toEqual({ code: "the-code", state: "the-state", iss: "https://id.example" });
    expect(page.entries).toEqual(["https://shop.example/shop/?keep=1#/checkout"]);
  });

  it("is taken out when it is an error, or a code no sign-in in this tab asked for", () => {
    const denied = tab("https://shop.example/?error=access_denied&error_description=no&state=s#/");
    expect(takeSignInAnswer(denied)).toEqual({ error: "access_denied", error_description: "no", state: "s" });
    expect(denied.entries).toEqual(["https://shop.example/#/"]);
  });

  it("leaves an address without one alone", () => {
    const page = tab("https://shop.example/#/?q=lamp");
    const replace = vi.spyOn(page.history, "replaceState");
    expect(takeSignInAnswer(page)).toEqual({});
    expect(replace).not.toHaveBeenCalled();
  });

  it("is never sent as a Referer: the page's referrer policy is set before anything is fetched", () => {
    const head = /<head>([\s\S]*?)<\/head>/.exec(readFileSync(new URL("../index.html", import.meta.url), "utf8"))?.[1];
    const policy = head?.indexOf('<meta name="referrer" content="no-referrer" />') ?? -1;
    expect(policy).toBeGreaterThan(-1);
    expect(head?.slice(0, policy)).not.toMatch(/<(link|script|img|style)\b/);
  });
});

describe("completing the sign-in", () => {
  const identity = {
    kind: "oidc",
    authorizeUrl: "https://id.example/authorize",
    tokenUrl: "https://id.example/token",
    clientId: "storefront",
    scope: "openid",
  } as const;
  const token = jwt({ sub: "alice", exp: 2_000_000_000 });

  function pendingSignIn(state: string) {
    const kept = new Map([["shopmesh.pkce.v1", JSON.stringify({ verifier: "the-verifier", state })]]);
    vi.stubGlobal("sessionStorage", {
      getItem: (key: string) => kept.get(key) ?? null,
      removeItem: (key: string) => void kept.delete(key),
    });
    vi.stubGlobal("window", { location: { origin: "https://shop.example", pathname: "/" } });
    const fetch = vi.fn(async (_url: string, _init: RequestInit) => Response.json({ access_token: token }));
    vi.stubGlobal("fetch", fetch);
    return fetch;
  }
  afterEach(() => vi.unstubAllGlobals());

  it("exchanges the answer's code, taken from the address beforehand, for a session", async () => {
    const fetch = pendingSignIn("the-state");
    const session = await completeOidcSignIn(identity, { code: "the-code", state: "the-state" });
    expect(session?.customerId).toBe("alice");
    const [url, init] = fetch.mock.calls[0] ?? [];
    expect(url).toBe("https://id.example/token");
    expect(Object.fromEntries(new URLSearchParams(String(init?.body)))).toMatchObject({
      code: "the-code",
      code_verifier: "the-verifier",
      redirect_uri: "https://shop.example/",
    });
  });

  it("says why when the provider refused the sign-in, and forgets the pending one", async () => {
    const fetch = pendingSignIn("the-state");
    await expect(
      completeOidcSignIn(identity, {
        error: "access_denied",
        error_description: "the user declined consent",
        state: "the-state",
      }),
    ).rejects.toThrow("the identity provider refused it: the user declined consent");
    expect(fetch).not.toHaveBeenCalled();
    // Forgotten: the same answer again (a reload) is no sign-in of this tab's.
    await expect(completeOidcSignIn(identity, { error: "access_denied", state: "the-state" })).resolves.toBeUndefined();
  });

  it("refuses an answer to another request, and sends its code nowhere", async () => {
    const fetch = pendingSignIn("the-state");
    await expect(completeOidcSignIn(identity, { code: "the-code", state: "forged" })).rejects.toThrow(/does not match/);
    expect(fetch).not.toHaveBeenCalled();
  });
});
