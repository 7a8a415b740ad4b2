import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Mesh, startMesh } from "@shopmesh/e2e/mesh";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import type { Middleware } from "../server/dev-endpoints.js";
import { type StaticServer, serveStatic } from "../server/static-server.js";
import { buildStorefront, launchBrowser } from "./browser.js";

/** What a browser test file works with: the built storefront served, its mesh, and a browser. */
export interface StorefrontBed {
  readonly mesh: Mesh;
  readonly server: StaticServer;
  readonly context: BrowserContext;
}

/**
 * Before the calling file's tests: builds the production bundle, serves it with the
 * development endpoints (a middleware may add more), starts the real mesh allowing its
 * origin and seeded with `products`, and launches Chromium; after them, stops it all.
 * With `traces`, the page exports its spans to the server's /v1/traces.
 */
export function storefrontBed(
  label: string,
  products: Parameters<Mesh["seed"]>[0],
  options: { middleware?: Middleware; traces?: boolean } = {},
): StorefrontBed {
  let mesh: Mesh | undefined;
  let server: StaticServer | undefined;
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
  let dist: string | undefined;
  const config: Record<string, unknown> = {};
  beforeAll(async () => {
    dist = await mkdtemp(join(tmpdir(), `shopmesh-web-${label}-`));
    await buildStorefront(dist);
    const started = await serveStatic(dist, {
      dev: { config, signCustomerToken: (customer) => need(mesh, "the mesh").customerToken(customer) },
      middleware: options.middleware,
    });
    server = started;
    if (options.traces) config.otlpTracesUrl = `${started.url}/v1/traces`;
    mesh = await startMesh(label, { CORS_ORIGINS: started.url });
    await mesh.seed(products);
    config.orderUrl = `http://127.0.0.1:${mesh.ports.order.http}`;
    config.catalogUrl = `http://127.0.0.1:${mesh.ports.inventory.http}`;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await mesh?.close();
    if (dist) await rm(dist, { recursive: true, force: true });
  });
  return {
    get mesh() {
      return need(mesh, "the mesh");
    },
    get server() {
      return need(server, "the storefront's server");
    },
    get context() {
      return need(browser, "the browser").context;
    },
  };
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is only available inside tests`);
  return value;
}
