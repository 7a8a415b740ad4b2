import { InventoryError } from "./errors.js";
import type { Product } from "./product.js";
import type { ProductLookup } from "./product-lookup.js";

/** One product; fails with CATALOG.PRODUCT_NOT_FOUND for an unknown SKU. */
export async function getProduct(lookup: ProductLookup, sku: string): Promise<Product> {
  const product = (await lookup([sku])).get(sku);
  if (product === undefined) throw new InventoryError("CATALOG.PRODUCT_NOT_FOUND", `no product with SKU ${sku}`);
  return product;
}

/** The products of a set of SKUs in the order asked, and the SKUs not in the catalog. */
export async function batchGetProducts(
  lookup: ProductLookup,
  skus: readonly string[],
): Promise<{ products: Product[]; missingSkus: string[] }> {
  const found = await lookup(skus);
  return {
    products: skus.flatMap((sku) => found.get(sku) ?? []),
    missingSkus: skus.filter((sku) => !found.has(sku)),
  };
}
