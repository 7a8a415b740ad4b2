import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { describe, expect, it } from "vitest";
import { useInventoryService } from "./harness.js";

const inventory = useInventoryService("bad_input");

/** The code and the fields the BadRequest detail names, of a call that must fail. */
async function refusal(call: Promise<unknown>): Promise<{ code: Code | undefined; fields: string[] }> {
  return call.then(
    () => ({ code: undefined, fields: [] }),
    (error: unknown) => {
      const connectError = ConnectError.from(error);
      const fields = connectError.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
      return { code: connectError.code, fields };
    },
  );
}

const uuid = "0b0f1a5e-3c1d-4a5b-9c7d-1e2f3a4b5c6d";

describe("bad input", () => {
  it.each([
    [
      "ReserveStock, no order id",
      () => inventory.stockClient.reserveStock({ orderId: "", items: [{ sku: "ABC", quantity: 1 }] }),
      "order_id",
    ],
    ["ReserveStock, no items", () => inventory.stockClient.reserveStock({ orderId: uuid, items: [] }), "items"],
    [
      "ReserveStock, quantity 0",
      () => inventory.stockClient.reserveStock({ orderId: uuid, items: [{ sku: "ABC", quantity: 0 }] }),
      "items[0].quantity",
    ],
    [
      "ReserveStock, a SKU twice",
      () =>
        inventory.stockClient.reserveStock({
          orderId: uuid,
          items: [
            { sku: "ABC", quantity: 1 },
            { sku: "ABC", quantity: 2 },
          ],
        }),
      "items",
    ],
    [
      "ReserveStock, 5000 items",
      () =>
        inventory.stockClient.reserveStock({
          orderId: uuid,
          items: Array.from({ length: 5000 }, (_, i) => ({ sku: `S-${i}`, quantity: 1 })),
        }),
      "items",
    ],
    ["ReleaseStock, bad id", () => inventory.stockClient.releaseStock({ orderId: "nope" }), "order_id"],
    ["SetStock, negative", () => inventory.stockClient.setStock({ sku: "ABC", onHand: -1n }), "on_hand"],
    ["SetStock, bad sku", () => inventory.stockClient.setStock({ sku: "abc", onHand: 1n }), "sku"],
    ["GetStock, bad sku", () => inventory.stockClient.getStock({ sku: "" }), "sku"],
    ["ListProducts, page size", () => inventory.catalogClient.listProducts({ pageSize: -1 }), "page_size"],
    ["ListProducts, page token", () => inventory.catalogClient.listProducts({ pageToken: "garbage" }), "page_token"],
    ["BatchGetProducts, none", () => inventory.catalogClient.batchGetProducts({ skus: [] }), "skus"],
    ["BatchGetProducts, twice", () => inventory.catalogClient.batchGetProducts({ skus: ["ABC", "ABC"] }), "skus"],
  ])("%s: INVALID_ARGUMENT naming the field", async (_, call, field) => {
    const { code, fields } = await refusal(call());
    expect(code).toBe(Code.InvalidArgument);
    expect(fields.some((f) => f === field || f.startsWith(`${field}`))).toBe(true);
  });
});
