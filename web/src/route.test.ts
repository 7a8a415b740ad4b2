import { describe, expect, it } from "vitest";
import { href, parseRoute, type Route, searchText } from "./route.js";

describe("routes", () => {
  it("round-trips every page through the URL fragment", () => {
    const routes: Route[] = [
      { page: "catalog", query: "" },
      { page: "catalog", query: "desk lamp & more" },
      { page: "product", sku: "SKU-000042" },
      { page: "cart" },
      { page: "checkout" },
      { page: "orders" },
      { page: "order", orderId: "0b4f1c9e-4a4e-4b5e-9d27-3f1c2a7b9e10" },
      { page: "sign-in" },
    ];
    for (const route of routes) expect(parseRoute(href(route))).toEqual(route);
  });

  it("answers not-found for anything else", () => {
    expect(parseRoute("#/nowhere")).toEqual({ page: "not-found" });
    expect(parseRoute("#/products/a/b")).toEqual({ page: "not-found" });
    expect(parseRoute("#/orders/not-an-order")).toEqual({ page: "not-found" });
    expect(parseRoute("")).toEqual({ page: "catalog", query: "" });
  });

  it("answers not-found for a link whose escapes are broken, rather than throwing (a blank page)", () => {
    expect(parseRoute("#/products/100%")).toEqual({ page: "not-found" });
    expect(parseRoute("#/products/%E0%A4%A")).toEqual({ page: "not-found" });
    expect(parseRoute("#/orders/%zz")).toEqual({ page: "not-found" });
  });
});

describe("searchText", () => {
  it("makes one line of a search, as the catalog's contract takes it: control characters become spaces", () => {
    expect(searchText("  desk\tlamp\r\nshade \u0000 ")).toBe("desk lamp shade");
    expect(parseRoute(`#/?${new URLSearchParams({ q: "desk\tlamp" })}`)).toEqual({
      page: "catalog",
      query: "desk lamp",
    });
  });
});
