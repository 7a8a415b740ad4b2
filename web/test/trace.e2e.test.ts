import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { products } from "@shopmesh/e2e/fixtures";
import type { ReceivedSpan } from "@shopmesh/e2e/otlp-receiver";
import { type ServiceName, startTracedMesh, type TracedMesh } from "@shopmesh/e2e/traced-mesh";
import { waitFor } from "@shopmesh/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Middleware } from "../server/dev-endpoints.js";
import { type StaticServer, serveStatic } from "../server/static-server.js";
import { buildStorefront, launchBrowser } from "./browser.js";

// The services run as processes with OpenTelemetry, as deployed, and export to a local
// OTLP receiver; the browser's spans reach the same receiver through the page's server.
const services: ServiceName[] = ["order", "inventory", "payment"];
const [lamp] = products(1, 50n).map((product) => ({ ...product, name: `Traced lamp ${product.sku.slice(4, 12)}` }));
const config: Record<string, unknown> = {};
let mesh: TracedMesh;
let server: StaticServer;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let dist: string;

const browserExports: Middleware = (req, res, next) => {
  if (req.method !== "POST" || req.url !== "/v1/traces") return next();
  let body = "";
  req.on("data", (chunk: Buffer) => {
    body += chunk.toString();
  });
  req.on("end", () => {
    mesh.receiver.ingest(body);
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
};

beforeAll(async () => {
  dist = await mkdtemp(join(tmpdir(), "shopmesh-web-trace-"));
  await buildStorefront(dist);
  server = await serveStatic(dist, {
    dev: { config, signCustomerToken: (customer) => mesh.customerToken(customer) },
    middleware: browserExports,
  });
  config.otlpTracesUrl = `${server.url}/v1/traces`;
  mesh = await startTracedMesh("storefront_trace", { env: { CORS_ORIGINS: server.url } });
  await mesh.seed(lamp ? [lamp] : []);
  config.orderUrl = `http://127.0.0.1:${mesh.port("order", "http")}`;
  config.catalogUrl = `http://127.0.0.1:${mesh.port("inventory", "http")}`;
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await mesh?.close();
  if (dist) await rm(dist, { recursive: true, force: true });
}, 60_000);

const isEvent = (span: ReceivedSpan, kind: number, suffix: string) =>
  span.kind === kind && span.attributes["messaging.destination.name"] === `${mesh.namespace}.${suffix}`;

describe("a checkout traced from the browser", () => {
  it("is one trace whose root is the click, through every service to CONFIRMED", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/#/sign-in`);
    await page.getByLabel("Customer id").fill("traced-shopper");
    await page.getByRole("button", { name: "Sign in as demo customer" }).click();
    await page.getByRole("button", { name: "Sign out traced-shopper" }).waitFor();
    await page.goto(`${server.url}/#/`);
    await page.getByLabel("Search products").fill(lamp?.name ?? "");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByRole("button", { name: `Add to cart: ${lamp?.name}` }).click();
    await page.getByText("Added to your cart.").waitFor();
    await page.goto(`${server.url}/#/checkout`);
    await page.getByRole("radio", { name: /Test Visa/ }).check();
    await page.getByRole("button", { name: "Place order" }).click();
    await page.locator('[data-order-status="CONFIRMED"]').waitFor({ timeout: 30_000 });
    const orderId = decodeURIComponent(new URL(page.url()).hash.replace("#/orders/", ""));

    // The last hop (inventory selling the stock) happens after the page saw CONFIRMED,
    // and the page exports its spans in batches: it stays open until all have come.
    const trace = await waitFor(
      () => {
        const placed = mesh.receiver.spans.find(
          (span) => span.service === "order" && span.kind === 2 && span.attributes["shopmesh.order.id"] === orderId,
        );
        const spans = mesh.receiver.spans.filter((span) => span.traceId === placed?.traceId);
        const sold = spans.some((span) => span.service === "inventory" && isEvent(span, 5, "orders.confirmed"));
        const click = spans.find((span) => span.service === "storefront" && span.name === "checkout");
        const fetched = spans.some((span) => span.spanId === placed?.parentSpanId);
        return placed && sold && click && fetched ? { placed, spans, click } : undefined;
      },
      { timeoutMs: 20_000, description: `one trace from the click to inventory selling order ${orderId}` },
    );
    await page.close();
    const byId = new Map(trace.spans.map((span) => [span.spanId, span]));
    const fetch = byId.get(trace.placed.parentSpanId);
    expect(fetch?.service).toBe("storefront");
    expect(fetch?.parentSpanId).toBe(trace.click.spanId);
    expect(trace.click.parentSpanId).toBe("");
    expect(trace.spans.filter((span) => !byId.has(span.parentSpanId)).map((span) => span.name)).toEqual(["checkout"]);
    for (const service of ["storefront", ...services]) {
      expect(trace.spans.some((span) => span.service === service)).toBe(true);
    }
    expect(trace.spans.some((span) => span.service === "payment" && isEvent(span, 5, "inventory.stock.reserved"))).toBe(
      true,
    );
  });
});
