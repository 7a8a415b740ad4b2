/**
 * A UUID from a request as stores key it: contracts validate ids with
 * `string.uuid`, which takes either case, while PostgreSQL answers a `uuid` in lower
 * case — so an id compared with what the database answered must be lower case too.
 */
export function canonicalUuid(id: string): string {
  return id.toLowerCase();
}
