import { describe, expect, it } from "vitest";
import { authorizeUrl, loadSession, sessionFromToken } from "./session.js";

const jwt = (claims: object) =>
  ["e30", Buffer.from(JSON.stringify(claims)).toString("base64url"), "signature"].join(".");

describe("session", () => {
  it("reads who is signed in and until when from the token", () => {
    const token = jwt({ sub: "alice", exp: 2_000_000_000, role: "customer" });
    expect(sessionFromToken(token)).toEqual({ token, customerId: "alice", expiresAt: 2_000_000_000_000 });
    expect(sessionFromToken("not-a-jwt")).toBeUndefined();
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
