import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StaticServer, serveStatic } from "../server/static-server.js";

let server: StaticServer;
const signed: string[] = [];

beforeAll(async () => {
  server = await serveStatic(new URL("../src", import.meta.url).pathname, {
    dev: {
      config: { orderUrl: "http://127.0.0.1:9" },
      signCustomerToken: async (customer) => {
        signed.push(customer);
        return `token-for-${customer}`;
      },
    },
  });
});

afterAll(async () => {
  await server?.close();
});

describe("development endpoints", () => {
  it("serve config.json with the development identity", async () => {
    const response = await fetch(`${server.url}/config.json`);
    expect(await response.json()).toEqual({
      orderUrl: "http://127.0.0.1:9",
      identity: { kind: "dev", tokenUrl: "/dev/token" },
    });
  });

  it("sign a token for the named demo customer, on POST only", async () => {
    const response = await fetch(`${server.url}/dev/token?customer=alice`, { method: "POST" });
    expect(await response.json()).toEqual({ token: "token-for-alice" });
    expect((await fetch(`${server.url}/dev/token?customer=alice`)).status).toBe(405);
    expect(signed).toEqual(["alice"]);
  });

  it("refuse a customer id that is not a plain name", async () => {
    const response = await fetch(`${server.url}/dev/token?customer=${encodeURIComponent("a b/../c")}`, {
      method: "POST",
    });
    expect(response.status).toBe(400);
    expect(signed).toEqual(["alice"]);
  });

  it("serve files without escaping the folder", async () => {
    expect((await fetch(`${server.url}/cart.ts`)).status).toBe(200);
    expect((await fetch(`${server.url}/%2e%2e/package.json`)).status).toBe(404);
  });
});
