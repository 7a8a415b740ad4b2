import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.js";

const place = { protocol: "http:", hostname: "localhost" };

describe("parseConfig", () => {
  it("defaults to the local service ports on the page's host and no sign-in", () => {
    expect(parseConfig({}, place)).toEqual({
      orderUrl: "http://localhost:8081",
      catalogUrl: "http://localhost:8082",
      otlpTracesUrl: "",
      identity: { kind: "none" },
    });
  });

  it("reads service URLs, the OTLP endpoint and an OIDC provider", () => {
    const config = parseConfig(
      {
        orderUrl: "https://api.shop.example/order",
        catalogUrl: "https://api.shop.example/catalog",
        otlpTracesUrl: "https://otel.shop.example/v1/traces",
        identity: {
          kind: "oidc",
          authorizeUrl: "https://id.example/authorize",
          tokenUrl: "https://id.example/token",
          clientId: "storefront",
          audience: "shopmesh",
        },
      },
      place,
    );
    expect(config.orderUrl).toBe("https://api.shop.example/order");
    expect(config.otlpTracesUrl).toBe("https://otel.shop.example/v1/traces");
    expect(config.identity).toEqual({
      kind: "oidc",
      authorizeUrl: "https://id.example/authorize",
      tokenUrl: "https://id.example/token",
      clientId: "storefront",
      scope: "openid",
      audience: "shopmesh",
    });
  });

  it("treats an incomplete identity provider as no sign-in rather than a broken one", () => {
    expect(parseConfig({ identity: { kind: "oidc", clientId: "x" } }, place).identity).toEqual({ kind: "none" });
    expect(parseConfig({ identity: { kind: "dev" } }, place).identity).toEqual({ kind: "dev", tokenUrl: "/dev/token" });
    expect(parseConfig("nonsense", place).orderUrl).toBe("http://localhost:8081");
  });
});
