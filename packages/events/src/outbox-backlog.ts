import { statement } from "@shopmesh/pg";
import type pg from "pg";

const backlog = statement<{ rows: string; oldest_ms: number | null }>(
  "events.outbox-backlog",
  `SELECT count(*) AS rows, extract(epoch FROM clock_timestamp() - min(created_at)) * 1000 AS oldest_ms
     FROM outbox WHERE published_at IS NULL`,
);

/** Rows not yet published and the age of the oldest: how far the relay is behind. */
export async function outboxBacklog(pool: pg.Pool): Promise<{ rows: number; oldestMs: number }> {
  const { rows } = await backlog(pool, []);
  return { rows: Number(rows[0]?.rows ?? 0), oldestMs: Number(rows[0]?.oldest_ms ?? 0) };
}
