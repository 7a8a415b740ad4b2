import { describe, expect, it } from "vitest";
import { generateCatalog } from "./seed.js";

describe("generateCatalog", () => {
  const catalog = generateCatalog();

  it("is the same on every run", () => {
    expect(generateCatalog()).toEqual(catalog);
  });

  it("has 300 products with sequential, valid SKUs", () => {
    expect(catalog).toHaveLength(300);
    expect(catalog[0]?.sku).toBe("SKU-000001");
    expect(catalog[299]?.sku).toBe("SKU-000300");
    expect(new Set(catalog.map((p) => p.sku)).size).toBe(300);
  });

  it("spreads products over categories with USD prices of $1.99 to $499.99", () => {
    expect(new Set(catalog.map((p) => p.category)).size).toBeGreaterThanOrEqual(8);
    for (const product of catalog) {
      expect(product.price.currency).toBe("USD");
      expect(product.price.amountMinor).toBeGreaterThanOrEqual(199n);
      expect(product.price.amountMinor).toBeLessThanOrEqual(49_999n);
      expect(product.name.length).toBeGreaterThan(5);
      expect(product.description).toMatch(/^[A-Z].* for .+, .+\.$/);
    }
  });

  it("stocks 0 to 500 units, a few products sold out", () => {
    const stock = catalog.map((p) => p.available);
    expect(stock.every((units) => units >= 0n && units <= 500n)).toBe(true);
    expect(stock.filter((units) => units === 0n)).toHaveLength(12);
  });
});
