/** An event that can never be applied (malformed, impossible): dead-lettered at once, not retried. */
export class PermanentEventError extends Error {
  override name = "PermanentEventError";
}
