import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";

/**
 * Resolves once the database answers a statement, asking again after each of `delaysMs`
 * (the last repeated), or when `signal` aborts. A consumer whose database is down waits
 * here with its pulls paused: every delivery counts towards the consumer's bound on
 * deliveries, which retrying each event every few seconds used up in minutes of an
 * outage, parking the events in flight (see createBatchLoop in consumer.ts).
 */
export async function waitForDatabase(pool: pg.Pool, delaysMs: readonly number[], signal: AbortSignal): Promise<void> {
  // A stopping replica does not wait for the question in flight: to a database gone from
  // the network it is answered only at the pool's connect or answer timeout (5–10 s),
  // past the shutdown's budget.
  const aborted = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  for (let attempt = 0; !signal.aborted; attempt++) {
    const asked = pool.query("SELECT 1").then(() => true);
    asked.catch(() => undefined);
    const answered = await Promise.race([asked, aborted]).catch(() => false);
    if (answered) return;
    const delay = delaysMs[Math.min(attempt, delaysMs.length - 1)] ?? 1_000;
    await sleep(delay, undefined, { signal }).catch(() => undefined);
  }
}
