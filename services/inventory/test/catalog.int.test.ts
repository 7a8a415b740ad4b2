import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { describe, expect, it, vi } from "vitest";
import { createProductLookup } from "../src/product-lookup.js";
import { generateCatalog, seedCatalog } from "../src/seed.js";
import { useInventoryService } from "./harness.js";

const inventory = useInventoryService("catalog", { SEED_CATALOG: "true" });
const seeded = generateCatalog();
const matching = (text: string) =>
  seeded.filter((p) => `${p.name} ${p.description} ${p.category}`.toLowerCase().includes(text.toLowerCase()));

async function connectCall(path: string, body: unknown) {
  const response = await fetch(`${inventory.httpUrl}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function codeOf(call: Promise<unknown>): Promise<Code | undefined> {
  return call.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error).code,
  );
}

describe("CatalogService over gRPC", () => {
  it("pages through the whole seeded catalog in SKU order", async () => {
    const skus: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await inventory.catalogClient.listProducts({ pageSize: 100, pageToken });
      expect(page.totalSize).toBe(300);
      skus.push(...page.products.map((p) => p.sku));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken !== "" && pages < 10);
    expect(pages).toBe(3);
    expect(skus).toEqual(seeded.map((p) => p.sku));
  });

  it("answers 24 products when no page size is given", async () => {
    const page = await inventory.catalogClient.listProducts({});
    expect(page.products).toHaveLength(24);
    expect(page.products[0]).toMatchObject({
      sku: "SKU-000001",
      name: seeded[0]?.name,
      category: seeded[0]?.category,
      price: { amountMinor: seeded[0]?.price.amountMinor, currencyCode: "USD" },
      available: seeded[0]?.available,
    });
    expect(page.products[0]?.updateTime?.seconds).toBeGreaterThan(0n);
  });

  it("refuses a page size above 100", async () => {
    expect(await codeOf(inventory.catalogClient.listProducts({ pageSize: 101 }))).toBe(Code.InvalidArgument);
  });

  it("filters case-insensitively by text in name, description or category, across pages", async () => {
    const expected = matching("kitchen").map((p) => p.sku);
    expect(expected.length).toBeGreaterThan(10);
    const first = await inventory.catalogClient.listProducts({ query: "KITCHEN", pageSize: 10 });
    expect(first.totalSize).toBe(expected.length);
    const rest = await inventory.catalogClient.listProducts({
      query: "KITCHEN",
      pageSize: 100,
      pageToken: first.nextPageToken,
    });
    expect([...first.products, ...rest.products].map((p) => p.sku)).toEqual(expected);
    expect(rest.nextPageToken).toBe("");

    const inDescriptions = await inventory.catalogClient.listProducts({ query: "Two-Year Warranty", pageSize: 100 });
    expect(inDescriptions.totalSize).toBe(matching("two-year warranty").length);
    expect(inDescriptions.totalSize).toBeGreaterThan(0);
  });

  it("matches text in one field, not running from one field into the next, and lower-cases both sides alike", async () => {
    await seedCatalog(inventory.pool, [
      {
        sku: "ZZ-SPAN-1",
        name: "Reading desk",
        description: "lamp shade included",
        category: "furniture",
        price: { amountMinor: 1_000n, currency: "USD" },
        available: 1n,
      },
      {
        sku: "ZZ-SPAN-2",
        name: "İZMİR towel",
        description: "cotton",
        category: "bath",
        price: { amountMinor: 1_000n, currency: "USD" },
        available: 1n,
      },
    ]);
    // "desk lamp" runs from the end of the name into the description.
    expect(await inventory.catalogClient.listProducts({ query: "Reading desk lamp" })).toMatchObject({
      products: [],
      totalSize: 0,
    });
    const inName = await inventory.catalogClient.listProducts({ query: "reading DESK" });
    expect(inName.products.map(({ sku }) => sku)).toEqual(["ZZ-SPAN-1"]);
    // JavaScript lower-cases "İ" to "i̇" (with a combining dot), PostgreSQL to "i".
    const exactName = await inventory.catalogClient.listProducts({ query: "İZMİR towel" });
    expect(exactName.products.map(({ sku }) => sku)).toEqual(["ZZ-SPAN-2"]);
  });

  it("treats LIKE wildcards in the text literally", async () => {
    const page = await inventory.catalogClient.listProducts({ query: "%_" });
    expect(page).toMatchObject({ products: [], totalSize: 0, nextPageToken: "" });
  });

  it("refuses a page token used with another query, or made up", async () => {
    const page = await inventory.catalogClient.listProducts({ query: "kitchen", pageSize: 5 });
    expect(page.nextPageToken).not.toBe("");
    const misuse = inventory.catalogClient.listProducts({ query: "audio", pageToken: page.nextPageToken });
    expect(await codeOf(misuse)).toBe(Code.InvalidArgument);
    const madeUp = inventory.catalogClient.listProducts({ pageToken: Buffer.from("SKU-000100").toString("base64url") });
    expect(await codeOf(madeUp)).toBe(Code.InvalidArgument);
  });

  it("answers one product, or NOT_FOUND", async () => {
    const { product } = await inventory.catalogClient.getProduct({ sku: "SKU-000042" });
    expect(product).toMatchObject({ sku: "SKU-000042", name: seeded[41]?.name, available: seeded[41]?.available });
    expect(await codeOf(inventory.catalogClient.getProduct({ sku: "SKU-999999" }))).toBe(Code.NotFound);
    expect(await codeOf(inventory.catalogClient.getProduct({ sku: "not a sku" }))).toBe(Code.InvalidArgument);
  });

  it("answers a batch in the order asked, listing the SKUs it does not know", async () => {
    const answer = await inventory.catalogClient.batchGetProducts({
      skus: ["SKU-000300", "SKU-NOPE", "SKU-000001", "SKU-000150"],
    });
    expect(answer.products.map((p) => p.sku)).toEqual(["SKU-000300", "SKU-000001", "SKU-000150"]);
    expect(answer.missingSkus).toEqual(["SKU-NOPE"]);
  });

  it("answers lookups that come while a query runs with one query, each with its own products", async () => {
    const queries = vi.spyOn(inventory.pool, "query");
    try {
      const lookup = createProductLookup(inventory.pool);
      const asked = Array.from({ length: 20 }, (_, index) => [
        `SKU-${String(index + 1).padStart(6, "0")}`,
        `SKU-${String(index + 101).padStart(6, "0")}`,
      ]);
      const answers = await Promise.all(asked.map((skus) => lookup([...skus, "SKU-NOPE"])));
      answers.forEach((found, index) => {
        for (const sku of asked[index] ?? []) expect(found.get(sku)?.sku).toBe(sku);
        expect(found.has("SKU-NOPE")).toBe(false);
      });
      // The first lookup runs at once; the 19 that came meanwhile share the next query.
      expect(queries).toHaveBeenCalledTimes(2);
      queries.mockRejectedValueOnce(new Error("connection lost"));
      const failed = await Promise.allSettled([lookup(["SKU-000001"]), lookup(["SKU-000002"])]);
      expect(failed.map((result) => result.status)).toEqual(["rejected", "fulfilled"]);
    } finally {
      queries.mockRestore();
    }
  });

  it("serves anonymous callers and callers with any token", async () => {
    const customer = await inventory.token("customer");
    const page = await inventory.catalogClient.listProducts(
      { pageSize: 1 },
      { headers: { authorization: `Bearer ${customer}` } },
    );
    expect(page.products).toHaveLength(1);
  });
});

describe("CatalogService over Connect JSON (HTTP/1.1)", () => {
  const listProducts = "shopmesh.inventory.v1.CatalogService/ListProducts";

  it("pages and filters with plain fetch", async () => {
    const first = await connectCall(listProducts, { pageSize: 3, query: "audio" });
    expect(first.status).toBe(200);
    const expected = matching("audio").map((p) => p.sku);
    expect(first.body.totalSize).toBe(expected.length);
    const products = first.body.products as { sku: string; available: string; price: { amountMinor: string } }[];
    expect(products.map((p) => p.sku)).toEqual(expected.slice(0, 3));
    expect(typeof products[0]?.available).toBe("string");

    const second = await connectCall(listProducts, {
      pageSize: 3,
      query: "audio",
      pageToken: first.body.nextPageToken,
    });
    expect((second.body.products as { sku: string }[]).map((p) => p.sku)).toEqual(expected.slice(3, 6));
  });

  it("answers invalid_argument for a token of another query", async () => {
    const first = await connectCall(listProducts, { pageSize: 3, query: "audio" });
    const misuse = await connectCall(listProducts, {
      pageSize: 3,
      query: "garden",
      pageToken: first.body.nextPageToken,
    });
    expect(misuse.status).toBe(400);
    expect(misuse.body).toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("different query"),
    });
    const [detail] = misuse.body.details as { type: string; value: string }[];
    expect(detail?.type).toBe("google.rpc.ErrorInfo");
    const info = fromBinary(ErrorInfoSchema, Buffer.from(detail?.value ?? "", "base64"));
    expect(info).toMatchObject({ reason: "CATALOG.INVALID_PAGE_TOKEN", domain: "inventory.shopmesh" });
  });

  it.each([
    ["NUL (U+0000), which SQL text cannot", "lamp\u0000"],
    ["U+001F, which joins a product's fields for the search", "desk\u001flamp"],
    ["a line break", "desk\nlamp"],
  ])("answers invalid_argument with a field violation for a query holding %s", async (_, query) => {
    const refused = await connectCall(listProducts, { query });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/^query: /) });
    const details = refused.body.details as { type: string; value: string }[];
    const badRequest = details.find((detail) => detail.type === "google.rpc.BadRequest");
    const { fieldViolations } = fromBinary(BadRequestSchema, Buffer.from(badRequest?.value ?? "", "base64"));
    expect(fieldViolations.map(({ field, reason }) => ({ field, reason }))).toEqual([
      { field: "query", reason: "string.pattern" },
    ]);
  });

  it("does not route the internal StockService at all", async () => {
    const service = await inventory.token("service");
    const response = await fetch(`${inventory.httpUrl}/shopmesh.inventory.v1.StockService/SetStock`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${service}` },
      body: JSON.stringify({ sku: "SKU-000001", onHand: "1" }),
    });
    expect(response.status).toBe(404);
    expect((await inventory.catalogClient.getProduct({ sku: "SKU-000001" })).product?.available).toBe(
      seeded[0]?.available,
    );
  });
});
