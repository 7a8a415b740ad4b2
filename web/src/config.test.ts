import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.js";

const place = { protocol: "http:", hostname: "localhost", href: "http://localhost:5173/#/cart" };

describe("parseConfig", () => {
  it("defaults to the local service ports on the page's host and no sign-in", () => {
    expect(parseConfig({}, place)).toEqual({
      orderUrl: "http://localhost:8081",
      catalogUrl: "http://localhost:8082",
      otlpTracesUrl: "",
      tracesSampleRatio: 1,
      identity: { kind: "none" },
    });
  });

  it("reads service URLs, the OTLP endpoint and an OIDC provider", () => {
    const config = parseConfig(
      {
        orderUrl: "https://api.shop.example/order",
        catalogUrl: "https://api.shop.example/catalog",
        otlpTracesUrl: "https://otel.shop.example/v1/traces",
        tracesSampleRatio: 0.25,
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
    expect(config.tracesSampleRatio).toBe(0.25);
    expect(parseConfig({ tracesSampleRatio: 2 }, place).tracesSampleRatio).toBe(1);
    expect(config.identity).toEqual({
      kind: "oidc",
      authorizeUrl: "https://id.example/authorize",
      tokenUrl: "https://id.example/token",
      clientId: "storefront",
      scope: "openid",
      audience: "shopmesh",
    });
  });

  it('resolves relative service URLs against the page, so "/" is its own origin', () => {
    const page = { protocol: "https:", hostname: "shop.example.com", href: "https://shop.example.com/#/orders/42" };
    const config = parseConfig({ orderUrl: "/", catalogUrl: "/catalog/" }, page);
    expect(config.orderUrl).toBe("https://shop.example.com/");
    expect(config.catalogUrl).toBe("https://shop.example.com/catalog/");
    // An absolute URL stays where it points; one that cannot be parsed counts as missing.
    expect(parseConfig({ orderUrl: "https://api.example.com/order" }, page).orderUrl).toBe(
      "https://api.example.com/order",
    );
    expect(parseConfig({ orderUrl: "http://[nonsense" }, page).orderUrl).toBe("https://shop.example.com:8081");
  });

  it("treats an incomplete identity provider as no sign-in rather than a broken one", () => {
    expect(parseConfig({ identity: { kind: "oidc", clientId: "x" } }, place).identity).toEqual({ kind: "none" });
    expect(parseConfig({ identity: { kind: "dev" } }, place).identity).toEqual({ kind: "dev", tokenUrl: "/dev/token" });
    expect(parseConfig("nonsense", place).orderUrl).toBe("http://localhost:8081");
  });
});
