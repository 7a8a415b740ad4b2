import { createHash } from "node:crypto";
import { InventoryError } from "./errors.js";

const version = "p1";
const tokenPattern = /^p1\.([0-9a-f]{16})\.([A-Z0-9]+(?:-[A-Z0-9]+)*)$/;

/**
 * The form of a catalog query that decides what it matches: the filter is
 * case-insensitive and ignores surrounding blanks, so "Lamp " and "lamp" page alike.
 */
export function normalizeQuery(query: string): string {
  return query.trim().toLowerCase();
}

/**
 * The opaque token of the page after `lastSku` for a query: base64url of the last
 * SKU and a fingerprint of the query, so it cannot be replayed with another query.
 */
export function encodePageToken(lastSku: string, query: string): string {
  return Buffer.from(`${version}.${fingerprint(query)}.${lastSku}`).toString("base64url");
}

/**
 * The SKU a page token continues after; undefined for the first page (empty token).
 * Throws CATALOG.INVALID_PAGE_TOKEN for a token that is malformed or was issued for
 * a different query.
 */
export function decodePageToken(token: string, query: string): string | undefined {
  if (token === "") return undefined;
  const match = tokenPattern.exec(Buffer.from(token, "base64url").toString("latin1"));
  if (match === null || Buffer.from(match[0], "latin1").toString("base64url") !== token) {
    throw new InventoryError("CATALOG.INVALID_PAGE_TOKEN", "malformed page token", "page_token");
  }
  if (match[1] !== fingerprint(query)) {
    throw new InventoryError(
      "CATALOG.INVALID_PAGE_TOKEN",
      "the page token was issued for a different query",
      "page_token",
    );
  }
  return match[2];
}

function fingerprint(query: string): string {
  return createHash("sha256").update(normalizeQuery(query)).digest("hex").slice(0, 16);
}
