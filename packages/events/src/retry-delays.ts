/** Delays before the retries of a failed event (ms): the last applies to any further one. */
export const defaultRetryDelaysMs: readonly number[] = [100, 500, 2_000, 5_000];

/** The longest of a consumer's retry delays: how long an event it hands back waits. */
export function longestRetryDelayMs(retryDelaysMs: readonly number[] = defaultRetryDelaysMs): number {
  return Math.max(...retryDelaysMs);
}
