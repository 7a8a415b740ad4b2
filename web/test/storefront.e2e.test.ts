import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { products, stockLevel } from "@shopmesh/e2e/fixtures";
import { OrderStatus } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import { waitFor } from "@shopmesh/testing";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import type { Middleware } from "../server/dev-endpoints.js";
import { storefrontBed } from "./storefront-bed.js";

const webDir = fileURLToPath(new URL("..", import.meta.url));
/** Screenshots of each final state land here (gitignored): web/test-results/storefront/. */
const artifacts = join(webDir, "test-results", "storefront");
const run = Math.random().toString(36).slice(2, 8);
const named = (list: ReturnType<typeof products>, noun: string) =>
  list.map((product, index) => ({ ...product, name: `${noun} ${run} ${index + 1}` }));
const plenty = named(products(3, 100n), "Lantern");
const scarce = named(products(1, 1n), "Teapot")[0] ?? plenty[0];
const [lantern1, lantern2, lantern3] = plenty as [(typeof plenty)[0], (typeof plenty)[0], (typeof plenty)[0]];

interface ExportedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
}
/** Spans the browser exported over OTLP/HTTP (JSON) to the test server's /v1/traces. */
const exported: ExportedSpan[] = [];
const collector: Middleware = (req, res, next) => {
  if (req.method !== "POST" || req.url !== "/v1/traces") return next();
  let body = "";
  req.on("data", (chunk: Buffer) => {
    body += chunk.toString();
  });
  req.on("end", () => {
    const request = JSON.parse(body) as {
      resourceSpans?: { scopeSpans?: { spans?: ExportedSpan[] }[] }[];
    };
    for (const resource of request.resourceSpans ?? []) {
      for (const scope of resource.scopeSpans ?? []) exported.push(...(scope.spans ?? []));
    }
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
};

const bed = storefrontBed("storefront", [...plenty, scarce as (typeof plenty)[0]], {
  middleware: collector,
  traces: true,
});

beforeAll(async () => {
  await mkdir(artifacts, { recursive: true });
});

async function signIn(page: Page, customer: string) {
  await page.goto(`${bed.server.url}/#/sign-in`);
  await page.getByLabel("Customer id").fill(customer);
  await page.getByRole("button", { name: "Sign in as demo customer" }).click();
  await page.getByRole("button", { name: `Sign out ${customer}` }).waitFor();
}

async function search(page: Page, text: string) {
  await page.goto(`${bed.server.url}/#/`);
  await page.getByLabel("Search products").fill(text);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: `Results for “${text}”` }).waitFor();
}

async function addFromCatalog(page: Page, name: string) {
  await search(page, name);
  await page.getByRole("button", { name: `Add to cart: ${name}` }).click();
  await page.getByText("Added to your cart.").waitFor();
}

async function placeOrder(page: Page, card: RegExp) {
  await page.goto(`${bed.server.url}/#/checkout`);
  await page.getByRole("radio", { name: card }).check();
  await page.getByRole("button", { name: "Place order" }).click();
}

async function finalState(page: Page, status: keyof typeof OrderStatus, shot: string) {
  const order = page.locator(`[data-order-status="${status}"]`);
  await order.waitFor({ timeout: 30_000 });
  await page.screenshot({ path: join(artifacts, shot), fullPage: true });
  return order;
}

const orderIdOf = (page: Page) => decodeURIComponent(new URL(page.url()).hash.replace("#/orders/", ""));

describe("the storefront in a real browser against the real mesh", () => {
  it("browses, keeps the cart across a reload, checks out from a traced click and watches the order become CONFIRMED", async () => {
    const page = await bed.context.newPage();
    await signIn(page, "shopper");
    await search(page, run);
    const card = page.getByRole("article", { name: lantern1.name });
    expect(await card.textContent()).toContain("$12.50");
    expect(await card.textContent()).toContain("100 in stock");
    await page.getByRole("button", { name: `Add to cart: ${lantern1.name}` }).click();
    await page.getByRole("link", { name: lantern2.name }).click();
    await page.getByRole("heading", { level: 1, name: lantern2.name }).waitFor();
    await page.getByLabel("Quantity").fill("2");
    await page.getByRole("button", { name: "Add to cart" }).click();
    await page.getByText("Added 2 to your cart.").waitFor();

    await page.getByRole("link", { name: /^Cart/ }).click();
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Your cart" }).waitFor();
    expect(await page.getByLabel(`Quantity of ${lantern1.name}`).inputValue()).toBe("1");
    expect(await page.getByLabel(`Quantity of ${lantern2.name}`).inputValue()).toBe("2");
    expect(await page.locator(".total").textContent()).toContain("$37.50");
    await page.screenshot({ path: join(artifacts, "cart-after-reload.png"), fullPage: true });

    await page.getByRole("link", { name: "Check out" }).click();
    expect(await page.getByText("tok_declined").isVisible()).toBe(true);
    const placed = page.waitForRequest((request) => request.url().endsWith(".OrderService/PlaceOrder"));
    const watched = page.waitForRequest((request) => request.url().endsWith(".OrderService/WatchOrder"));
    await placeOrder(page, /Test Visa/);
    const traceparent = (await placed).headers().traceparent ?? "";
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await watched;
    const order = await finalState(page, "CONFIRMED", "order-confirmed.png");
    expect(await order.getByRole("status").textContent()).toContain("Confirmed");
    const states = await order.locator("[data-step]").evaluateAll((steps) => steps.map((s) => s.dataset.state));
    expect(states).toEqual(["done", "done", "done", "done"]);
    expect(await page.getByRole("link", { name: /^Cart/ }).textContent()).toContain("(0)");

    const token = await bed.mesh.customerToken("shopper");
    const { order: stored } = await bed.mesh.orders(token).getOrder({ orderId: orderIdOf(page) });
    expect(stored?.status).toBe(OrderStatus.CONFIRMED);
    expect(stored?.lines.map((line) => [line.sku, line.quantity])).toEqual([
      [lantern1.sku, 1],
      [lantern2.sku, 2],
    ]);

    const [, traceId, fetchSpanId] = traceparent.split("-");
    const { click, call } = await waitFor(
      () => {
        const click = exported.find((span) => span.name === "checkout" && span.traceId === traceId);
        const call = exported.find((span) => span.spanId === fetchSpanId);
        return click && call ? { click, call } : undefined;
      },
      { timeoutMs: 15_000, description: "the browser to export the checkout click and its PlaceOrder fetch" },
    );
    expect(click.parentSpanId ?? "").toBe("");
    expect(call.parentSpanId).toBe(click.spanId);
    await page.close();
  });

  it("shows an order for more than the stock as rejected, and charges nothing", async () => {
    const page = await bed.context.newPage();
    await signIn(page, "shopper");
    await addFromCatalog(page, scarce?.name ?? "");
    await page.goto(`${bed.server.url}/#/cart`);
    await page.getByLabel(`Quantity of ${scarce?.name}`).fill("3");
    await placeOrder(page, /Test Visa/);
    const order = await finalState(page, "REJECTED", "order-rejected-out-of-stock.png");
    expect(await order.getByRole("status").textContent()).toContain("Rejected: not enough stock");
    expect(await order.locator('[data-step="reserved"]').getAttribute("data-state")).toBe("failed");
    expect(await order.getByRole("button", { name: "Cancel this order" }).count()).toBe(0);
    expect((await stockLevel(bed.mesh, scarce?.sku ?? "")).available).toBe(1n);
    await page.close();
  });

  it("shows a declined card as cancelled, on a phone-sized screen", async () => {
    const page = await bed.context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await signIn(page, "shopper");
    await addFromCatalog(page, lantern3.name);
    await placeOrder(page, /Declined card/);
    const order = await finalState(page, "CANCELLED", "order-cancelled-declined.png");
    expect(await order.getByRole("status").textContent()).toContain("the payment was declined");
    expect(await order.locator('[data-step="paid"]').getAttribute("data-state")).toBe("failed");
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    await page.close();
  });

  it("shows a validation error next to the payment field, and an unavailable service with what to do", async () => {
    const page = await bed.context.newPage();
    await signIn(page, "shopper");
    await addFromCatalog(page, lantern1.name);
    await placeOrder(page, /Another test token/);
    await page.getByLabel("Payment token").fill("Not A Token");
    await page.getByRole("button", { name: "Place order" }).click();
    const error = page.locator("#payment-token-error");
    await error.waitFor();
    expect(await error.textContent()).toMatch(/match/);
    expect(await page.getByLabel("Payment token").getAttribute("aria-invalid")).toBe("true");
    await page.screenshot({ path: join(artifacts, "checkout-field-violation.png"), fullPage: true });

    await page.getByLabel("Payment token").fill("tok_visa");
    await bed.mesh.stop("order");
    try {
      await page.getByRole("button", { name: "Place order" }).click();
      await page.getByRole("alert").filter({ hasText: "Ordering is unavailable right now" }).waitFor();
      await page.screenshot({ path: join(artifacts, "checkout-service-unavailable.png"), fullPage: true });
    } finally {
      await bed.mesh.start("order");
    }
    await page.getByRole("button", { name: "Place order" }).click();
    await finalState(page, "CONFIRMED", "order-confirmed-after-retry.png");
    await page.close();
  });

  it("signs out a customer whose token the live order page's stream refuses, and offers the sign-in form", async () => {
    const customer = "revoked";
    const orders = bed.mesh.orders(await bed.mesh.customerToken(customer));
    // The order service was restarted by the case before: a gRPC client may still be in
    // its reconnect backoff and answer UNAVAILABLE at once. The same key places one order;
    // waitFor tries again on an error, and names the last one if it never succeeds.
    const { order } = await waitFor(
      () =>
        orders.placeOrder({
          idempotencyKey: `revoked-${run}`,
          items: [{ sku: lantern3.sku, quantity: 1 }],
          paymentToken: "tok_visa",
        }),
      { timeoutMs: 10_000, description: "the order placed over gRPC" },
    );
    const page = await bed.context.newPage();
    await signIn(page, customer);
    await page.goto(`${bed.server.url}/#/orders/${order?.orderId}`);
    await page.locator('[data-order-status="CONFIRMED"]').waitFor({ timeout: 30_000 });
    // A revoked token: the session keeps its claims, so only the services can tell.
    await page.evaluate(() => {
      const token = sessionStorage.getItem("shopmesh.session.v1") ?? "";
      sessionStorage.setItem("shopmesh.session.v1", `${token.slice(0, token.lastIndexOf(".") + 1)}AAAA`);
    });
    // WatchOrder is a server stream: UNAUTHENTICATED comes in its end, not as a failed request.
    await page.reload();
    await page.getByLabel("Customer id").waitFor({ timeout: 10_000 });
    expect(await page.getByRole("button", { name: `Sign out ${customer}` }).count()).toBe(0);
    await page.screenshot({ path: join(artifacts, "order-signed-out.png"), fullPage: true });
    await page.close();
  });

  it("lists my orders, cancels a confirmed one with a refund, and a keyboard user can skip to the content", async () => {
    const page = await bed.context.newPage();
    await signIn(page, "shopper");
    await page.goto(`${bed.server.url}/#/orders`);
    await page.locator(".order-row").first().waitFor();
    expect(await page.locator(".order-row").count()).toBe(4);
    expect(await page.locator(".orders").textContent()).toMatch(/Confirmed.*Cancelled.*Rejected.*Confirmed/s);
    await page.screenshot({ path: join(artifacts, "my-orders.png"), fullPage: true });

    await page.locator(".order-row a").first().click();
    await page.locator('[data-order-status="CONFIRMED"]').waitFor();
    await page.getByRole("button", { name: "Cancel this order" }).click();
    const cancelled = await finalState(page, "CANCELLED", "order-cancelled-by-customer.png");
    expect(await cancelled.getByRole("status").textContent()).toContain("the payment refunded");
    await page.close();

    const fresh = await bed.context.newPage();
    await fresh.goto(bed.server.url);
    await fresh.getByRole("heading", { level: 1, name: "Catalog" }).waitFor();
    await fresh.keyboard.press("Tab");
    expect(await fresh.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await fresh.keyboard.press("Enter");
    expect(await fresh.evaluate(() => document.activeElement?.tagName)).toBe("H1");
    await fresh.close();
  });
});
