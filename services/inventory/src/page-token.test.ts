import { describe, expect, it } from "vitest";
import type { InventoryError } from "./errors.js";
import { decodePageToken, encodePageToken } from "./page-token.js";

function errorOf(run: () => unknown): InventoryError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error as InventoryError;
  }
}

describe("page tokens", () => {
  it("continue after the last SKU of the page for the same query", () => {
    const token = encodePageToken("SKU-000024", "lamp");
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodePageToken(token, "lamp")).toBe("SKU-000024");
  });

  it("accept the same query with other case and surrounding blanks", () => {
    expect(decodePageToken(encodePageToken("SKU-1", "Desk Lamp"), "  desk lamp ")).toBe("SKU-1");
  });

  it("mean the first page when empty", () => {
    expect(decodePageToken("", "anything")).toBeUndefined();
  });

  it("are refused with another query", () => {
    const token = encodePageToken("SKU-000024", "lamp");
    expect(errorOf(() => decodePageToken(token, "chair"))).toMatchObject({
      code: "CATALOG.INVALID_PAGE_TOKEN",
      message: expect.stringContaining("different query"),
    });
    expect(errorOf(() => decodePageToken(token, ""))?.code).toBe("CATALOG.INVALID_PAGE_TOKEN");
  });

  it("are refused when malformed or tampered with", () => {
    const valid = encodePageToken("SKU-000024", "");
    const forged = Buffer.from(Buffer.from(valid, "base64url").toString().replace("SKU-000024", "sku; drop")).toString(
      "base64url",
    );
    for (const token of ["nope", "%%%", forged, `${valid}x`, Buffer.from("p1.zz.SKU-1").toString("base64url")]) {
      expect(errorOf(() => decodePageToken(token, ""))?.code, token).toBe("CATALOG.INVALID_PAGE_TOKEN");
    }
  });
});
