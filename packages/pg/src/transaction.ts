import type pg from "pg";

/** SQLSTATEs after which the whole transaction may simply be run again. */
const retryable = new Set(["40001", "40P01"]);

/**
 * Runs `work` in a transaction on one pooled client: COMMIT when it resolves,
 * ROLLBACK when it throws. A serialization failure or deadlock (40001, 40P01) is
 * retried from the start, up to `attempts` times in all.
 *
 * BEGIN is not awaited before `work` starts: on a pipelining client (every pool from
 * {@link createPool}) it goes out with the work's first statement, one round trip
 * fewer per transaction. A BEGIN that fails means the connection failed, and the
 * statements behind it with it; its error is rethrown before COMMIT in any case.
 */
export async function withTx<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    try {
      const begun = client.query("BEGIN");
      begun.catch(() => undefined); // awaited below; this only keeps an early throw of `work` from leaving it unhandled
      const result = await work(client);
      await begun;
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      if (attempt >= attempts || !isRetryable(error)) throw error;
    } finally {
      client.release();
    }
  }
}

/** Whether a pg error is a serialization failure or a deadlock. */
export function isRetryable(error: unknown): boolean {
  return retryable.has((error as { code?: string } | null)?.code ?? "");
}
