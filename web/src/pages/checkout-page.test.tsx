import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { addToCart } from "../cart.js";
import type { Clients } from "../clients.js";
import { type Shop, ShopContext } from "../shop.js";
import { CartPage } from "./cart-page.js";
import { CheckoutPage, testCards } from "./checkout-page.js";

const lamp = { sku: "SKU-1", name: "Desk Lamp", unitPrice: { amountMinor: 1250n, currencyCode: "USD" } };

function render(page: React.ReactElement, shop: Partial<Shop> = {}) {
  const value: Shop = {
    config: {
      orderUrl: "",
      catalogUrl: "",
      otlpTracesUrl: "",
      tracesSampleRatio: 1,
      identity: { kind: "dev", tokenUrl: "/dev/token" },
    },
    clients: {} as Clients,
    cart: addToCart([], lamp, 2),
    setCart: () => {},
    session: { token: "t", customerId: "alice", expiresAt: Number.MAX_SAFE_INTEGER },
    setSession: () => {},
    navigate: () => {},
    ...shop,
  };
  const html = renderToStaticMarkup(<ShopContext.Provider value={value}>{page}</ShopContext.Provider>);
  return new DOMParserLite(html);
}

/** Just enough querying of static markup for these assertions. */
class DOMParserLite {
  constructor(readonly html: string) {}
  labelFor(id: string): string | undefined {
    return new RegExp(`<label for="${id}">(.*?)</label>`).exec(this.html)?.[1]?.replace(/<[^>]+>/g, "");
  }
  has(fragment: string): boolean {
    return this.html.includes(fragment);
  }
}

describe("checkout page", () => {
  it("explains every test card of the payment simulator, each a labelled radio", () => {
    const page = render(<CheckoutPage />);
    for (const card of testCards) {
      expect(page.has(`id="card-${card.token}"`)).toBe(true);
      expect(page.labelFor(`card-${card.token}`)).toContain(card.token);
      expect(page.labelFor(`card-${card.token}`)).toContain(card.effect);
    }
    expect(page.has("<legend>Payment</legend>")).toBe(true);
    expect(page.has("2 × Desk Lamp")).toBe(true);
    expect(page.has("$25.00")).toBe(true);
  });

  it("asks a visitor to sign in before checking out", () => {
    const page = render(<CheckoutPage />, { session: undefined });
    expect(page.has("Sign in to check out")).toBe(true);
    expect(page.labelFor("customer")).toBe("Customer id");
    expect(page.has("Place order")).toBe(false);
  });

  it("labels each quantity in the cart with the product it changes", () => {
    const page = render(<CartPage />);
    expect(page.labelFor("qty-SKU-1")).toBe("Quantity of Desk Lamp");
    expect(page.has('aria-label="Remove Desk Lamp from the cart"')).toBe(true);
  });
});
