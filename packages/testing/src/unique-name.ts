import { randomBytes } from "node:crypto";

/**
 * Builds `<prefix>_<label>_<random>` from letters, digits and underscores,
 * at most `maxLength` characters, in lower case.
 */
export function uniqueName(prefix: string, label: string, maxLength: number): string {
  const random = randomBytes(5).toString("hex");
  const room = maxLength - prefix.length - random.length - 2;
  const safe = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, room)
    .replace(/_+$/, "");
  return [prefix, safe || "x", random].join("_");
}
