/**
 * What the storefront does when an RPC fails or its answer is lost, against the real mesh
 * in Debian's Chromium: never a second order, never a page stuck placing, a message that
 * says what happened, and live updates that come back.
 */
import { products } from "@shopmesh/e2e/fixtures";
import { OrderStatus } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { storefrontBed } from "./storefront-bed.js";

const run = Math.random().toString(36).slice(2, 8);
const stocked = products(55, 1000n);
const bed = storefrontBed("web_failures", stocked);

/** Lets the page's next PlaceOrder reach the order service, and loses its answer on the way back. */
async function loseNextPlaceOrderAnswer(page: Page): Promise<void> {
  let lost = false;
  await page.route("**/shopmesh.order.v1.OrderService/PlaceOrder", async (route) => {
    if (route.request().method() !== "POST" || lost) return route.continue();
    lost = true;
    await route.fetch();
    await route.abort("connectionreset");
  });
}

/** Signs in and puts products (the first `lines`, or those given; 1 unit each) straight into the cart kept in localStorage. */
async function shopper(customer: string, lines: number | typeof stocked): Promise<Page> {
  const page = await bed.context.newPage();
  await page.goto(`${bed.server.url}/#/sign-in`);
  await page.getByLabel("Customer id").fill(customer);
  await page.getByRole("button", { name: "Sign in as demo customer" }).click();
  await page.getByRole("button", { name: `Sign out ${customer}` }).waitFor();
  const cart = (typeof lines === "number" ? stocked.slice(0, lines) : lines).map((p) => ({
    sku: p.sku,
    name: p.name,
    quantity: 1,
    unitPrice: { amountMinor: String(p.price.amountMinor), currencyCode: "USD" },
  }));
  await page.evaluate((value) => localStorage.setItem("shopmesh.cart.v1", value), JSON.stringify(cart));
  await page.goto(`${bed.server.url}/#/checkout`);
  await page.reload();
  await page.getByRole("button", { name: "Place order" }).waitFor();
  return page;
}

/** Places the cart with a chosen card (not the default) and loses the answer: the order exists, the page cannot say so. */
async function placeWithSlowVisaAnswerLost(page: Page, customer: string): Promise<void> {
  await page.getByRole("radio", { name: /Slow Visa/ }).check();
  await loseNextPlaceOrderAnswer(page);
  await page.getByRole("button", { name: "Place order" }).click();
  await page.getByRole("alert").filter({ hasText: "may have gone through" }).waitFor();
  expect((await ordersOf(customer)).length, "the lost call placed an order").toBe(1);
}

async function ordersOf(customer: string) {
  const { orders } = await bed.mesh.orders(await bed.mesh.customerToken(customer)).listOrders({ pageSize: 50 });
  return orders;
}

describe("the storefront when calls fail", () => {
  it("a PlaceOrder whose answer was lost, retried after looking at the cart, places no second order", async () => {
    const customer = `lost-${run}`;
    const page = await shopper(customer, 1);
    // The request reaches the order service, which commits the order; its answer never reaches the page.
    await loseNextPlaceOrderAnswer(page);
    await page.getByRole("button", { name: "Place order" }).click();
    const alert = page.getByRole("alert").filter({ hasText: "Ordering is unavailable right now" });
    await alert.waitFor();
    expect((await ordersOf(customer)).length, "the lost call placed an order").toBe(1);
    // An order was placed: the page must not say nothing was changed.
    expect(await alert.textContent()).toContain("it may have gone through");

    // "Your cart is kept": the customer checks the cart and comes back to check out again.
    await page.getByRole("link", { name: "Change the cart" }).click();
    await page.getByRole("heading", { level: 1, name: "Your cart" }).waitFor();
    await page.getByRole("link", { name: "Check out" }).click();
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL(/#\/orders\//);
    const orders = await ordersOf(customer);
    expect(
      orders.map((o) => o.orderId),
      "one checkout, one order",
    ).toHaveLength(1);
    await page.close();
  });

  it("a PlaceOrder whose answer was lost, retried at once from the same page, answers the same order", async () => {
    const customer = `lostsame-${run}`;
    const page = await shopper(customer, 1);
    await loseNextPlaceOrderAnswer(page);
    await page.getByRole("button", { name: "Place order" }).click();
    await page.getByRole("alert").filter({ hasText: "Ordering is unavailable right now" }).waitFor();
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL(/#\/orders\//);
    expect((await ordersOf(customer)).length).toBe(1);
    await page.close();
  });

  it("a PlaceOrder whose answer was lost, sent again after another tab's checkout, places no second order", async () => {
    // Tabs share localStorage (the cart and the pending keys) and keep a session each:
    // the second tab's customer checks out the same cart under a key of their own.
    const [alice, bob] = [`tabs-a-${run}`, `tabs-b-${run}`];
    const first = await shopper(alice, 1);
    await loseNextPlaceOrderAnswer(first);
    await first.getByRole("button", { name: "Place order" }).click();
    await first.getByRole("alert").filter({ hasText: "Ordering is unavailable right now" }).waitFor();

    const second = await shopper(bob, 1);
    await loseNextPlaceOrderAnswer(second);
    await second.getByRole("button", { name: "Place order" }).click();
    await second.getByRole("alert").filter({ hasText: "Ordering is unavailable right now" }).waitFor();

    await first.getByRole("button", { name: "Place order" }).click();
    await first.waitForURL(/#\/orders\//);
    expect((await ordersOf(alice)).length, "the first tab's order, answered, not placed again").toBe(1);
    await first.close();
    await second.close();
  });

  it("an order that does not exist says Not found", async () => {
    const page = await shopper(`nf-${run}`, 1);
    await page.goto(`${bed.server.url}/#/orders/00000000-0000-4000-8000-000000000000`);
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toContain("Not found");
    await page.close();
  });

  it("a cart of more than 50 lines: the violation on `items` is shown to the customer", async () => {
    const page = await shopper(`many-${run}`, 51);
    const answered = page.waitForResponse((r) => r.url().endsWith("/PlaceOrder") && r.request().method() === "POST");
    await page.getByRole("button", { name: "Place order" }).click();
    const response = await answered;
    const body = (await response.json()) as { code: string; message: string };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toContain("items");
    const alert = page.getByRole("alert").filter({ hasText: "Some details need fixing" });
    await alert.waitFor();
    // The panel says "See the highlighted fields": what to fix is shown with it.
    const violation = /items: (.*)$/.exec(body.message)?.[1] ?? "";
    expect(violation).toContain("50");
    const shown = await page.locator("main").textContent();
    expect(shown, `server said: ${body.message}`).toContain("no more than 50");
    await page.close();
  });

  it("a WatchOrder stream the server ends with DEADLINE_EXCEEDED is re-opened until the order is final", async () => {
    const customer = `deadline-${run}`;
    const page = await shopper(customer, 1);
    // Every watch asks for a 1.5 s deadline, so the server cuts it short (DEADLINE_EXCEEDED).
    const watches: number[] = [];
    await page.route("**/shopmesh.order.v1.OrderService/WatchOrder", async (route) => {
      if (route.request().method() !== "POST") return route.continue();
      watches.push(Date.now());
      await route.continue({ headers: { ...route.request().headers(), "connect-timeout-ms": "1500" } });
    });
    await bed.mesh.stop("payment");
    try {
      await page.getByRole("button", { name: "Place order" }).click();
      await page.locator('[data-order-status="RESERVED"]').waitFor({ timeout: 20_000 });
      await page.getByText("Live updates are interrupted").waitFor({ timeout: 10_000 });
    } finally {
      await bed.mesh.start("payment");
    }
    await page.locator('[data-order-status="CONFIRMED"]').waitFor({ timeout: 30_000 });
    expect(watches.length).toBeGreaterThan(1);
    await page.close();
  });

  it("a watch ended by an order-service restart (UNAVAILABLE) comes back and shows the final state", async () => {
    const customer = `restart-${run}`;
    const page = await shopper(customer, 1);
    await bed.mesh.stop("payment");
    try {
      await page.getByRole("button", { name: "Place order" }).click();
      await page.locator('[data-order-status="RESERVED"]').waitFor({ timeout: 20_000 });
      await bed.mesh.stop("order");
      await page.getByText("Live updates are interrupted").waitFor({ timeout: 15_000 });
    } finally {
      await bed.mesh.start("payment");
      await bed.mesh.start("order");
    }
    await page.locator('[data-order-status="CONFIRMED"]').waitFor({ timeout: 30_000 });
    const orders = await ordersOf(customer);
    expect(orders.map((o) => o.status)).toEqual([OrderStatus.CONFIRMED]);
    await page.close();
  });

  it("a checkout refused UNAUTHENTICATED: after signing in again the page no longer says 'Please sign in'", async () => {
    const customer = `expired-${run}`;
    const page = await shopper(customer, 1);
    // A token the service no longer accepts (as an expired or revoked one): claims intact, signature not.
    await page.evaluate(() => {
      const token = sessionStorage.getItem("shopmesh.session.v1") ?? "";
      sessionStorage.setItem("shopmesh.session.v1", `${token.slice(0, token.lastIndexOf(".") + 1)}AAAA`);
    });
    await page.reload();
    await page.getByRole("button", { name: "Place order" }).click();
    await page.getByLabel("Customer id").waitFor();
    await page.getByLabel("Customer id").fill(customer);
    await page.getByRole("button", { name: "Sign in as demo customer" }).click();
    await page.getByRole("button", { name: `Sign out ${customer}` }).waitFor();
    await page.getByRole("button", { name: "Place order" }).waitFor();
    const stale = await page.getByRole("alert").filter({ hasText: "Please sign in" }).count();
    expect(stale, "signed in, the checkout still shows 'Please sign in … Your session is missing or has expired'").toBe(
      0,
    );
    await page.close();
  });

  it("an order link with a malformed id says the page was not found, not 'Some details need fixing'", async () => {
    const page = await shopper(`badlink-${run}`, 1);
    await page.goto(`${bed.server.url}/#/orders/not-an-order`);
    await page.getByRole("heading", { level: 1, name: "Page not found" }).waitFor();
    expect(await page.getByText("Some details need fixing").count()).toBe(0);
    await page.close();
  });

  it("a PlaceOrder that is never answered (silent connection) does not leave the page placing forever", async () => {
    const page = await shopper(`silent-${run}`, 1);
    // The request is sent and then nothing comes back: a dead NAT mapping, a hung proxy.
    await page.route("**/shopmesh.order.v1.OrderService/PlaceOrder", async (route) => {
      if (route.request().method() !== "POST") return route.continue();
      // never answered
    });
    await page.getByRole("button", { name: "Place order" }).click();
    await page.getByRole("button", { name: "Placing your order…" }).waitFor();
    // The page gives up at its own deadline (15 s) and says so.
    const gaveUp = await page
      .getByRole("alert")
      .waitFor({ timeout: 40_000 })
      .then(
        () => true,
        () => false,
      );
    expect(gaveUp, "the page still says 'Placing your order…' after 40 s").toBe(true);
    await page.unrouteAll({ behavior: "ignoreErrors" });
    await page.close();
  }, 90_000);

  it("a lost answer with a chosen card, then Place order after a reload, answers the same order: one charge", async () => {
    const customer = `reload-${run}`;
    const page = await shopper(customer, 1);
    await placeWithSlowVisaAnswerLost(page, customer);
    // The customer reloads and sends it again: the page offers the card it was sent with.
    await page.reload();
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL(/#\/orders\//);
    expect((await ordersOf(customer)).length, "one checkout, one order").toBe(1);
    await page.close();
  });

  it("a lost answer with a chosen card, then Place order from a new tab after signing in there, answers the same order", async () => {
    const customer = `newtab-${run}`;
    const first = await shopper(customer, 1);
    await placeWithSlowVisaAnswerLost(first, customer);
    await first.close();
    // The customer opens the shop again: a new tab keeps the cart and the pending key
    // (localStorage) but no session (sessionStorage), and signs in on the checkout page.
    const second = await bed.context.newPage();
    await second.goto(`${bed.server.url}/#/checkout`);
    await second.getByLabel("Customer id").fill(customer);
    await second.getByRole("button", { name: "Sign in as demo customer" }).click();
    await second.getByRole("button", { name: "Place order" }).click();
    await second.waitForURL(/#\/orders\//);
    expect((await ordersOf(customer)).length, "one checkout, one order").toBe(1);
    await second.close();
  });

  it("an answer lost at a proxy (502 after the order was placed) does not say nothing was changed", async () => {
    const customer = `gateway-${run}`;
    const page = await shopper(customer, 1);
    // What the storefront image's nginx answers when the order pod drops the connection
    // after it took the request: 502 Bad Gateway, an HTML body.
    let lost = false;
    await page.route("**/shopmesh.order.v1.OrderService/PlaceOrder", async (route) => {
      if (route.request().method() !== "POST" || lost) return route.continue();
      lost = true;
      await route.fetch();
      await route.fulfill({ status: 502, contentType: "text/html", body: "<html><body>502 Bad Gateway</body></html>" });
    });
    await page.getByRole("button", { name: "Place order" }).click();
    const alert = page.getByRole("alert").filter({ hasText: "Ordering is unavailable right now" });
    await alert.waitFor();
    expect((await ordersOf(customer)).length, "the call placed an order").toBe(1);
    expect(await alert.textContent()).toContain("may have gone through");
    await page.unrouteAll({ behavior: "ignoreErrors" });
    await page.close();
  });

  it("the total shown beside Place order is today's, the one the order charges, and a change is pointed out", async () => {
    const customer = `price-${run}`;
    const product = stocked[54];
    if (!product) throw new Error("no product");
    const page = await shopper(customer, [product]);
    // The catalog's price rises after the product went into the cart.
    await bed.mesh.pools.inventory.query("UPDATE products SET price_minor = price_minor * 4 WHERE sku = $1", [
      product.sku,
    ]);
    await page.reload();
    await page.getByRole("button", { name: "Place order" }).waitFor();
    await page
      .getByRole("status")
      .filter({ hasText: `The price of ${product.name} changed` })
      .waitFor();
    const shown = (await page.locator("p.total strong").textContent()) ?? "";
    await page.getByRole("button", { name: "Place order" }).click();
    await page.waitForURL(/#\/orders\//);
    const [order] = await ordersOf(customer);
    const charged = `$${(Number(order?.total?.amountMinor ?? 0n) / 100).toFixed(2)}`;
    expect(shown).toBe(charged);
    await page.close();
  });

  it("a product added in another tab while an order is being placed stays in the cart", async () => {
    const customer = `tabs-${run}`;
    const [first, second] = [stocked[52], stocked[53]];
    if (!first || !second) throw new Error("no product");
    const page = await shopper(customer, [first]);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route("**/shopmesh.order.v1.OrderService/PlaceOrder", async (route) => {
      if (route.request().method() !== "POST") return route.continue();
      await held;
      await route.continue();
    });
    await page.getByRole("button", { name: "Place order" }).click();
    await page.getByRole("button", { name: "Placing your order…" }).waitFor();
    const other = await bed.context.newPage();
    await other.goto(`${bed.server.url}/#/products/${second.sku}`);
    await other.getByRole("button", { name: "Add to cart" }).click();
    await other.getByText("Added 1 to your cart.").waitFor();
    release();
    await page.waitForURL(/#\/orders\//);
    const [order] = await ordersOf(customer);
    expect(order?.lines.map((line) => line.sku)).toEqual([first.sku]);
    const cart = JSON.parse((await other.evaluate(() => localStorage.getItem("shopmesh.cart.v1"))) ?? "[]") as {
      sku: string;
    }[];
    expect(cart.map((line) => line.sku)).toEqual([second.sku]);
    await other.close();
    await page.unrouteAll({ behavior: "ignoreErrors" });
    await page.close();
  });
});
