/** The storefront's pages, addressed by the URL fragment so static hosting needs no rewrites. */
export type Route =
  | { readonly page: "catalog"; readonly query: string }
  | { readonly page: "product"; readonly sku: string }
  | { readonly page: "cart" }
  | { readonly page: "checkout" }
  | { readonly page: "orders" }
  | { readonly page: "order"; readonly orderId: string }
  | { readonly page: "sign-in" }
  | { readonly page: "not-found" };

const orderIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads a route from `location.hash` (`#/products/SKU-1`, `#/orders/<id>`, `#/?q=lamp`). */
export function parseRoute(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decoded);
  // A broken escape (`%`, half a UTF-8 sequence) in a pasted or cut link: decodeURIComponent
  // throws, which at start-up would leave a blank page.
  if (parts.includes(undefined)) return { page: "not-found" };
  const [first, second] = parts;
  if (parts.length === 0) return { page: "catalog", query: searchText(new URLSearchParams(search).get("q") ?? "") };
  if (first === "products" && second && parts.length === 2) return { page: "product", sku: second };
  if (first === "orders" && second && parts.length === 2) {
    // Only an order id can name an order: anything else is a broken link, not a request to fix.
    return orderIdPattern.test(second) ? { page: "order", orderId: second } : { page: "not-found" };
  }
  if (parts.length === 1 && (first === "cart" || first === "checkout" || first === "orders" || first === "sign-in")) {
    return { page: first };
  }
  return { page: "not-found" };
}

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * A search as the catalog takes it: one line of text, so a tab or line break pasted
 * into the box (or a link) becomes a space, which the contract allows and a control
 * character it refuses; no blanks around it.
 */
export function searchText(raw: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it replaces
  return raw.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
}

/** The fragment of a route, for links. */
export function href(route: Route): string {
  switch (route.page) {
    case "catalog":
      return route.query ? `#/?${new URLSearchParams({ q: route.query })}` : "#/";
    case "product":
      return `#/products/${encodeURIComponent(route.sku)}`;
    case "order":
      return `#/orders/${encodeURIComponent(route.orderId)}`;
    case "not-found":
      return "#/";
    default:
      return `#/${route.page}`;
  }
}
