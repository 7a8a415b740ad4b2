import { statement } from "@shopmesh/pg";
import type pg from "pg";
import type { NewProduct, Product } from "./product.js";
import { type LastCount, onHandOf, type StockLevel } from "./stock.js";

/** A pool or a client in a transaction. */
export type Queryable = Pick<pg.ClientBase, "query">;

interface ProductRow {
  sku: string;
  name: string;
  description: string;
  category: string;
  price_minor: string;
  currency: string;
  available: string;
  updated_at: Date;
}

const productColumns = "sku, name, description, category, price_minor, currency, available, updated_at";

function rowToProduct(row: ProductRow): Product {
  return {
    sku: row.sku,
    name: row.name,
    description: row.description,
    category: row.category,
    price: { amountMinor: BigInt(row.price_minor), currency: row.currency },
    available: BigInt(row.available),
    updatedAt: row.updated_at,
  };
}

/** A row of the page query: the count alone (all nulls) when the page is empty. */
type PageRow = (ProductRow | { [K in keyof ProductRow]: null }) & { total: string };

/** Which slice of the catalog to read. */
export interface PageQuery {
  /**
   * Text the name, description or category must contain, compared after PostgreSQL's
   * lower() of both (lower-casing one side in JavaScript would not agree on every
   * letter: "İ"); empty for all.
   */
  readonly text: string;
  /** Only SKUs after this one (keyset paging); undefined from the start. */
  readonly afterSku: string | undefined;
  readonly limit: number;
}

/** Reads one page of matching products in SKU order, and how many match in all, in one round trip. */
export async function findProductPage(db: Queryable, page: PageQuery): Promise<{ products: Product[]; total: number }> {
  const { rows } = await db.query<PageRow>(
    `WITH matching AS (
       SELECT ${productColumns} FROM products
        WHERE search_text LIKE '%' || lower($1) || '%'
     ),
     page AS (
       SELECT * FROM matching WHERE $2::text IS NULL OR sku > $2 ORDER BY sku LIMIT $3
     )
     SELECT page.*, counted.total
       FROM (SELECT count(*) AS total FROM matching) AS counted
       LEFT JOIN page ON true
      ORDER BY page.sku`,
    [escapeLike(page.text), page.afterSku ?? null, page.limit],
  );
  return {
    products: rows.filter((row): row is ProductRow & { total: string } => row.sku !== null).map(rowToProduct),
    total: Number(rows[0]?.total ?? 0),
  };
}

const selectProducts = statement<ProductRow>(
  "inventory.find-products",
  `SELECT ${productColumns} FROM products WHERE sku = ANY ($1::text[])`,
);

/**
 * The products with these SKUs, by SKU; unknown SKUs are absent. A named statement
 * (parsed and planned once per connection): PlaceOrder prices every order with it.
 */
export async function findProducts(db: Queryable, skus: readonly string[]): Promise<Map<string, Product>> {
  const { rows } = await selectProducts(db, [skus]);
  return new Map(rows.map((row) => [row.sku, rowToProduct(row)]));
}

/** A SKU's stock position, or undefined for an unknown SKU; with `lock`, its row stays locked until commit. */
export async function findStockLevel(
  db: Queryable,
  sku: string,
  { lock = false } = {},
): Promise<StockLevel | undefined> {
  const { rows } = await db.query<{ available: string; reserved: string; on_hand_version: string }>(
    `SELECT available, reserved, on_hand_version FROM products WHERE sku = $1${lock ? " FOR UPDATE" : ""}`,
    [sku],
  );
  const row = rows[0];
  return (
    row && {
      sku,
      available: BigInt(row.available),
      reserved: BigInt(row.reserved),
      onHandVersion: BigInt(row.on_hand_version),
    }
  );
}

/** The last count applied to a SKU, if any. */
export async function findLastCount(db: Queryable, sku: string): Promise<LastCount | undefined> {
  const { rows } = await db.query<{ from_version: string; from_on_hand: string; on_hand: string; version: string }>(
    "SELECT from_version, from_on_hand, on_hand, version FROM stock_counts WHERE sku = $1",
    [sku],
  );
  const row = rows[0];
  return (
    row && {
      fromVersion: BigInt(row.from_version),
      fromOnHand: BigInt(row.from_on_hand),
      onHand: BigInt(row.on_hand),
      version: BigInt(row.version),
    }
  );
}

/**
 * Applies an inventory count (the SKU's available units from `before` to `after`) and
 * remembers it as the SKU's last count. Answers the stock with the version the count
 * left (the database moves it when on hand changes).
 */
export async function saveCount(tx: Queryable, before: StockLevel, after: StockLevel): Promise<StockLevel> {
  const { rows } = await tx.query<{ on_hand_version: string }>(
    `WITH counted AS (
       UPDATE products SET available = $2, updated_at = now() WHERE sku = $1 RETURNING on_hand_version
     ), remembered AS (
       INSERT INTO stock_counts (sku, from_version, from_on_hand, on_hand, version)
       SELECT $1, $3, $4, $5, on_hand_version FROM counted
       ON CONFLICT (sku) DO UPDATE
         SET from_version = excluded.from_version, from_on_hand = excluded.from_on_hand,
             on_hand = excluded.on_hand, version = excluded.version, counted_at = now()
     )
     SELECT on_hand_version FROM counted`,
    [
      before.sku,
      after.available.toString(),
      before.onHandVersion.toString(),
      onHandOf(before).toString(),
      onHandOf(after).toString(),
    ],
  );
  return { ...after, onHandVersion: BigInt(rows[0]?.on_hand_version ?? after.onHandVersion) };
}

/**
 * Writes products in one statement. `if-empty` inserts only into an empty catalog
 * (seeding at start, where replicas may race: the same rows either way);
 * `upsert` inserts or overwrites the given products' details and available units,
 * leaving what is reserved or sold alone. Answers how many rows were written.
 */
export async function writeProducts(
  db: Queryable,
  products: readonly NewProduct[],
  mode: "if-empty" | "upsert",
): Promise<number> {
  const column = <T>(pick: (product: NewProduct) => T) => products.map(pick);
  const { rowCount } = await db.query(
    `INSERT INTO products (sku, name, description, category, price_minor, currency, available)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[])
     ${mode === "upsert" ? upsertTail : ifEmptyTail}`,
    [
      column((p) => p.sku),
      column((p) => p.name),
      column((p) => p.description),
      column((p) => p.category),
      column((p) => p.price.amountMinor.toString()),
      column((p) => p.price.currency),
      column((p) => p.available.toString()),
    ],
  );
  return rowCount ?? 0;
}

const ifEmptyTail = `WHERE NOT EXISTS (SELECT 1 FROM products) ON CONFLICT (sku) DO NOTHING`;
const upsertTail = `ON CONFLICT (sku) DO UPDATE
   SET name = excluded.name, description = excluded.description, category = excluded.category,
       price_minor = excluded.price_minor, currency = excluded.currency,
       available = excluded.available, updated_at = now()`;

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, "\\$&");
}
