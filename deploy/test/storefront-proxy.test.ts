import { type ChildProcess, spawn } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "@shopmesh/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployDir } from "../src/render.js";

const html = "/usr/share/nginx/html/";

/** The files the storefront.Dockerfile copies from the repository into the html root, by path under it. */
function shippedFiles(): Map<string, string> {
  const dockerfile = readFileSync(join(deployDir, "docker/storefront.Dockerfile"), "utf8");
  const copies = [...dockerfile.matchAll(/^COPY (deploy\/\S+) (\S+)$/gm)];
  return new Map(
    copies
      .filter(([, , to]) => to?.startsWith(html))
      .map(([, from, to]) => [to?.slice(html.length) ?? "", join(deployDir, "..", from ?? "")]),
  );
}

/**
 * The storefront image's nginx configuration, run by Debian's nginx with only what the
 * image provides swapped for local stand-ins: the listen port, the html root (holding
 * the files the Dockerfile ships beside the build), and the two upstreams (order:8081,
 * inventory:8082) replaced by recording HTTP servers.
 */
describe("the storefront's nginx", () => {
  const dir = mkdtempSync(join(tmpdir(), "shopmesh-storefront-"));
  const seen: { upstream: string; method: string; path: string }[] = [];
  const upstreams: Server[] = [];
  let nginx: ChildProcess | undefined;
  let port = 0;
  const accessLog = () => readFileSync(join(dir, "access.log"), "utf8");

  const upstream = (name: string) =>
    new Promise<number>((resolve) => {
      const server = createServer((request, response) => {
        seen.push({ upstream: name, method: request.method ?? "", path: request.url ?? "" });
        response.setHeader("content-type", "application/json");
        response.end("{}");
      });
      upstreams.push(server);
      server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
    });

  beforeAll(async () => {
    const [order, inventory] = [await upstream("order"), await upstream("inventory")];
    port = await freePort();
    // Started as root (as here), nginx's workers run as nobody: they must be able to read the files.
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "html/assets"), { recursive: true });
    writeFileSync(join(dir, "html/index.html"), "<!doctype html><title>shopmesh</title>");
    writeFileSync(join(dir, "html/assets/app.js"), "console.log('shop')");
    for (const [path, source] of shippedFiles()) copyFileSync(source, join(dir, "html", path));
    const config = readFileSync(join(deployDir, "docker/storefront-nginx.conf"), "utf8")
      .replaceAll("/tmp/", `${dir}/`)
      .replace("server order:8081;", `server 127.0.0.1:${order};`)
      .replace("server inventory:8082;", `server 127.0.0.1:${inventory};`)
      .replace("listen 8080;", `listen 127.0.0.1:${port};`)
      .replace("access_log /dev/stdout", `access_log ${dir}/access.log`)
      .replace("root /usr/share/nginx/html;", `root ${dir}/html;`);
    writeFileSync(join(dir, "nginx.conf"), config);
    const binary = existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";
    nginx = spawn(binary, ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], { stdio: "ignore" });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok, {
      timeoutMs: 10_000,
      description: "the storefront's nginx to answer /healthz",
    });
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx?.once("exit", resolve));
      nginx.kill("SIGQUIT");
      await exited;
    }
    for (const server of upstreams) server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string) =>
    fetch(`http://127.0.0.1:${port}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });

  it("logs requests by path, never the sign-in code in a query string or a referrer", async () => {
    const landing = `http://127.0.0.1:${port}/?code=the-one-time-code&state=the-state`;
    expect((await fetch(landing)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/assets/app.js`, { headers: { referer: landing } })).status).toBe(200);
    const log = await waitFor(() => (accessLog().includes("GET /assets/app.js") ? accessLog() : undefined), {
      description: "both requests logged",
    });
    expect(log).toContain("GET / HTTP/1.1");
    expect(log).not.toContain("the-one-time-code");
    expect(log).not.toContain("the-state");
  });

  it("proxies order's and the catalog's public RPCs to their services", async () => {
    expect((await post("/shopmesh.order.v1.OrderService/PlaceOrder")).status).toBe(200);
    expect((await post("/shopmesh.inventory.v1.CatalogService/ListProducts")).status).toBe(200);
    expect(seen).toEqual([
      { upstream: "order", method: "POST", path: "/shopmesh.order.v1.OrderService/PlaceOrder" },
      { upstream: "inventory", method: "POST", path: "/shopmesh.inventory.v1.CatalogService/ListProducts" },
    ]);
  });

  it("reaches nothing else: stock, payment and health RPCs never leave nginx", async () => {
    seen.length = 0;
    for (const path of [
      "/shopmesh.inventory.v1.StockService/ReserveStock",
      "/shopmesh.payment.v1.PaymentService/GetPayment",
      "/grpc.health.v1.Health/Check",
    ])
      expect((await post(path)).status, path).toBe(405);
    expect(seen).toEqual([]);
  });

  it("serves the single-page app: files, and index.html for client-side routes", async () => {
    const asset = await fetch(`http://127.0.0.1:${port}/assets/app.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get("cache-control")).toContain("immutable");
    const route = await fetch(`http://127.0.0.1:${port}/orders/123`);
    expect(await route.text()).toContain("<title>shopmesh</title>");
    expect(route.headers.get("cache-control")).toBe("no-cache");
    expect((await fetch(`http://127.0.0.1:${port}/config.json`)).headers.get("cache-control")).toBe("no-cache");
    expect((await fetch(`http://127.0.0.1:${port}/assets/missing.js`)).status).toBe(404);
  });

  it("serves the config.json the image ships: RPCs to the page's own origin, where nginx proxies them", async () => {
    const shipped = shippedFiles().get("config.json");
    expect(shipped, "the Dockerfile copies a config.json beside index.html").toBeDefined();
    const page = `http://127.0.0.1:${port}/`;
    const response = await fetch(`${page}config.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    const config = (await response.json()) as { orderUrl: string; catalogUrl: string };
    expect(config).toEqual(JSON.parse(readFileSync(shipped ?? "", "utf8")));
    // Resolved as the page resolves them (web/src/config.ts).
    expect(new URL(config.orderUrl, page).origin).toBe(new URL(page).origin);
    expect(new URL(config.catalogUrl, page).origin).toBe(new URL(page).origin);
  });

  it("forbids framing, content-type guessing and referrers on whatever it serves", async () => {
    for (const path of ["/", "/orders/123", "/assets/app.js", "/config.json", "/assets/missing.js"]) {
      const { headers } = await fetch(`http://127.0.0.1:${port}${path}`);
      expect(headers.get("content-security-policy"), path).toBe("frame-ancestors 'none'");
      expect(headers.get("x-frame-options"), path).toBe("DENY");
      expect(headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(headers.get("referrer-policy"), path).toBe("no-referrer");
    }
  });

  it("leaves the RPCs' caching to the services", async () => {
    const response = await post("/shopmesh.order.v1.OrderService/PlaceOrder");
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBeNull();
  });

  it("answers a JSON document it does not have with 404, not index.html", async () => {
    for (const path of ["/settings.json", "/orders/config.json"]) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.text(), path).not.toContain("<title>shopmesh</title>");
    }
  });
});
