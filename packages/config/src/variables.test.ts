import { describe, expect, it } from "vitest";
import { grpcTarget, hostPort, natsServers, urlWithScheme, webOrigins } from "./variables.js";

describe("grpcTarget", () => {
  it.each([
    "127.0.0.1:50052",
    "inventory:50052",
    "[::1]:50052",
    "dns:///inventory-headless:50052",
    "dns:inventory:50052",
    "dns://10.0.0.10:53/inventory-headless.shop.svc.cluster.local:50052",
    "ipv4:127.0.0.1:50052,127.0.0.1:50062",
    "ipv6:[::1]:50052",
  ])("accepts %s", (value) => {
    expect(grpcTarget().parse(value)).toBe(value);
  });

  it.each([
    "inventory",
    "http://inventory:50052",
    "dns:///inventory",
    "ipv4:127.0.0.1:1,",
    "inventory:50052 ",
    "127.0.0.1:99999",
    "dns:///inventory-headless:70000",
    "ipv4:127.0.0.1:50052,127.0.0.1:65536",
  ])("rejects %s", (value) => {
    expect(grpcTarget().safeParse(value).success).toBe(false);
  });
});

describe("hostPort", () => {
  it.each(["0.0.0.0:50051", "127.0.0.1:0", "[::]:65535", "order:9"])("accepts %s", (value) => {
    expect(hostPort().parse(value)).toBe(value);
  });

  // Past 65535 the service would fail only at bind, after its migrations, not with the variable's name.
  it.each(["0.0.0.0:65536", "0.0.0.0:99999", "[::]:70000", "0.0.0.0", "0.0.0.0:123456"])("rejects %s", (value) => {
    expect(hostPort().safeParse(value).success).toBe(false);
  });
});

describe("webOrigins", () => {
  it("takes * and origins as browsers send them", () => {
    expect(webOrigins().parse(" https://shop.example.com, http://localhost:5173 ,*")).toEqual([
      "https://shop.example.com",
      "http://localhost:5173",
      "*",
    ]);
  });

  it.each([
    "https://shop.example.com/",
    "https://shop.example.com/storefront",
    "shop.example.com",
    "https://SHOP.example.com",
    "ftp://shop.example.com",
    "https://shop.example.com:443",
  ])("refuses %s, which no browser's Origin can equal", (value) => {
    const result = webOrigins().safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain(`"${value}" is no origin`);
  });
});

describe("urlWithScheme", () => {
  it("refuses a value that is no URL as a problem, not a crash", () => {
    for (const value of ["shopmesh_order", "idp.example.com/jwks"]) {
      const parsed = urlWithScheme("postgres", "postgresql").safeParse(value);
      expect(parsed.success, value).toBe(false);
    }
    expect(urlWithScheme("https").safeParse("http://idp.example.com/jwks").success).toBe(false);
    expect(urlWithScheme("postgres").parse("postgres://root@db:5432/order")).toBe("postgres://root@db:5432/order");
  });
});

describe("natsServers", () => {
  it.each(["nats://127.0.0.1:4222", "nats://nats-0.nats:4222,nats://nats-1.nats:4222", "nats-0:4222, tls://nats:4443"])(
    "accepts %s",
    (value) => {
      expect(natsServers().parse(value)).toBe(value);
    },
  );

  it.each([",", "nats://a:4222,", "nats://", "nats://a b:4222"])("rejects %s", (value) => {
    expect(natsServers().safeParse(value).success).toBe(false);
  });
});
