import { inspect } from "node:util";

/**
 * Options for {@link waitFor}.
 */
export interface WaitForOptions {
  /** Give up after this many milliseconds. Defaults to 10 000. */
  timeoutMs?: number;
  /** Pause between two probes. Defaults to 25. */
  intervalMs?: number;
  /** What is being waited for; it names the condition in the timeout error. */
  description?: string;
}

/**
 * Polls `probe` until it returns a truthy value, and returns that value.
 * A probe that throws counts as "not yet". On timeout it throws an Error
 * naming the description and the last value or error seen.
 *
 * ```ts
 * const row = await waitFor(() => store.find(id), { description: `order ${id} stored` });
 * ```
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 10_000, intervalMs = 25, description = "condition" }: WaitForOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: { value: unknown } | { error: unknown } = { value: undefined };
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<typeof expiredMark>((resolve) => {
    timer = setTimeout(() => resolve(expiredMark), timeoutMs);
  });
  try {
    for (;;) {
      try {
        const value = await Promise.race([Promise.resolve().then(probe), expired]);
        if (value === expiredMark) break;
        if (value) return value;
        last = { value };
      } catch (error) {
        last = { error };
      }
      const pause = Math.min(intervalMs, deadline - Date.now());
      if (pause <= 0) break;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  } finally {
    clearTimeout(timer);
  }
  const seen = "error" in last ? `last error: ${describe(last.error)}` : `last value: ${describe(last.value)}`;
  throw new Error(`waitFor timed out after ${timeoutMs} ms waiting for ${description} (${seen})`, {
    cause: "error" in last ? last.error : undefined,
  });
}

const expiredMark = Symbol("expired");

function describe(value: unknown): string {
  return value instanceof Error ? value.message : inspect(value, { depth: 2, breakLength: Infinity });
}
