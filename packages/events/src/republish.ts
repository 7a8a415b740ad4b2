import type { JetStreamClient } from "@nats-io/jetstream";
import type pg from "pg";
import { type OutboxMessageRow, publishRows } from "./relay.js";

/** The largest outbox id: a bigserial. */
export const maxOutboxId = 2n ** 63n - 1n;

/**
 * A re-publish that stopped at a publish JetStream refused or did not answer: the row,
 * and how many rows of the range were sent (and marked) — a page's rows go out
 * together, so some after the failed one may be among them.
 */
export class RepublishFailed extends Error {
  constructor(
    readonly sent: number,
    readonly failed: { readonly id: string; readonly subject: string },
    cause: unknown,
  ) {
    // nats.js reports a subject no stream takes ("no responders") as JetStream not enabled.
    const why =
      cause instanceof Error && cause.name === "JetStreamNotEnabled"
        ? `no stream takes ${failed.subject} (is EVENT_NAMESPACE the one the row was written under, and are the services' streams declared?)`
        : `publishing to ${failed.subject} failed: ${cause instanceof Error ? cause.message : String(cause)}`;
    super(
      `outbox row ${failed.id} was not re-published: ${why}. ${sent} other row(s) of the range were; ` +
        `once the cause is fixed, run again with --from ${failed.id}`,
      { cause },
    );
  }
}

/**
 * Publishes the outbox rows with ids in [fromId, toId] again, published or not — for
 * recovering events a JetStream server lost (its 2.9 file store flushes every two
 * minutes). Within the duplicate window JetStream drops them; beyond it, consumers'
 * inboxes make them no-ops. Pages through the rows that exist, 500 at a time, so a
 * range far beyond the last row (`--to` as "to the end") costs nothing more. Returns
 * how many rows were sent; throws RepublishFailed at the first publish that fails.
 */
export async function republishOutbox(pool: pg.Pool, js: JetStreamClient, fromId: bigint, toId: bigint) {
  if (fromId > toId) throw new RangeError(`the range ${fromId}…${toId} is reversed`);
  const page = 500;
  let sent = 0;
  for (let next = fromId; next <= toId; ) {
    const { rows } = await pool.query<OutboxMessageRow>(
      `SELECT id, event_id, subject, event_type, payload, headers, created_at FROM outbox
        WHERE id BETWEEN $1 AND $2 ORDER BY id LIMIT ${page}`,
      [next.toString(), toId.toString()],
    );
    const { ids, failure } = await publishRows(js, rows);
    // Only the rows sent: a row of the range that committed after the SELECT (its id
    // was taken before) is still the relays' to publish.
    await pool.query("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[]) AND published_at IS NULL", [
      ids,
    ]);
    sent += ids.length;
    if (failure) throw new RepublishFailed(sent, failure, failure.error);
    const last = rows.at(-1);
    if (rows.length < page || last === undefined) break;
    next = BigInt(last.id) + 1n;
  }
  return sent;
}
