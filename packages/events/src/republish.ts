import type { JetStreamClient } from "@nats-io/jetstream";
import type pg from "pg";
import { type OutboxMessageRow, publishRows } from "./relay.js";

/**
 * Publishes the outbox rows with ids in [fromId, toId] again, published or not — for
 * recovering events a JetStream server lost (its 2.9 file store flushes every two
 * minutes). Within the duplicate window JetStream drops them; beyond it, consumers'
 * inboxes make them no-ops. Returns how many rows were sent.
 */
export async function republishOutbox(pool: pg.Pool, js: JetStreamClient, fromId: bigint, toId: bigint) {
  const batch = 500n;
  let sent = 0;
  for (let start = fromId; start <= toId; start += batch) {
    const end = start + batch - 1n < toId ? start + batch - 1n : toId;
    const { rows } = await pool.query<OutboxMessageRow>(
      `SELECT id, event_id, subject, event_type, payload, headers, created_at FROM outbox WHERE id BETWEEN $1 AND $2 ORDER BY id`,
      [start.toString(), end.toString()],
    );
    const { ids, failure } = await publishRows(js, rows);
    // Only the rows sent: a row of the range that committed after the SELECT (its id
    // was taken before) is still the relays' to publish.
    await pool.query("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[]) AND published_at IS NULL", [
      ids,
    ]);
    sent += ids.length;
    if (failure) throw failure.error;
  }
  return sent;
}
