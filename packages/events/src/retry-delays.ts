/** Delays before the retries of a failed event (ms): the last applies to any further one. */
export const defaultRetryDelaysMs: readonly number[] = [100, 500, 2_000, 5_000];
