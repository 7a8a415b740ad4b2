import { randomUUID } from "node:crypto";
import { waitFor } from "@shopmesh/testing";
import { pino } from "pino";
import { beforeEach, describe, expect, it } from "vitest";
import { pruneEvents, startEventPruner } from "../src/index.js";
import { useEventsTestbed } from "./testbed.js";

const bed = useEventsTestbed("retention", "SELECT 1");
const day = 24 * 60 * 60 * 1000;
const retention = { outboxMs: 14 * day, inboxMs: 52 * day };

/** An outbox row written `ageDays` ago, published or not; answers its event id. */
async function outboxRow(ageDays: number, published: boolean): Promise<string> {
  const eventId = randomUUID();
  await bed.pool.query(
    `INSERT INTO outbox (event_id, subject, event_type, payload, created_at, published_at)
     VALUES ($1, 's', 't', '', now() - make_interval(days => $2), CASE WHEN $3 THEN now() - make_interval(days => $2) END)`,
    [eventId, ageDays, published],
  );
  return eventId;
}

/** An inbox row for an event applied `ageDays` ago; answers its event id. */
async function inboxRow(ageDays: number): Promise<string> {
  const eventId = randomUUID();
  await bed.pool.query(
    "INSERT INTO inbox (consumer, event_id, processed_at) VALUES ('c', $1, now() - make_interval(days => $2))",
    [eventId, ageDays],
  );
  return eventId;
}

const outboxIds = async () =>
  (await bed.pool.query<{ event_id: string }>("SELECT event_id FROM outbox ORDER BY id")).rows.map((r) => r.event_id);
const inboxIds = async () =>
  (await bed.pool.query<{ event_id: string }>("SELECT event_id FROM inbox ORDER BY processed_at")).rows.map(
    (r) => r.event_id,
  );

beforeEach(async () => {
  await bed.pool.query("TRUNCATE outbox, inbox");
});

describe("pruning a service's outbox and inbox", () => {
  it("removes published outbox rows and applied inbox rows past their retention, and keeps the rest", async () => {
    // Oldest first, as ids are handed out: rows the relay still owes head the outbox, more
    // than a chunk of them.
    const owed = [await outboxRow(30, false), await outboxRow(30, false), await outboxRow(30, false)];
    for (const age of [29, 25, 20, 16, 15]) await outboxRow(age, true);
    const recent = [await outboxRow(13, true), await outboxRow(0, true), await outboxRow(0, false)];
    for (const age of [90, 70, 60, 53, 53]) await inboxRow(age);
    const applied = [await inboxRow(51), await inboxRow(0)];

    // Chunks of two: pruning goes on past the owed rows, and stops at the first recent row.
    expect(await pruneEvents(bed.pool, retention, { chunk: 2 })).toEqual({ outbox: 5, inbox: 5 });
    expect(await outboxIds()).toEqual([...owed, ...recent]);
    expect(await inboxIds()).toEqual(applied);
    expect(await pruneEvents(bed.pool, retention, { chunk: 2 })).toEqual({ outbox: 0, inbox: 0 });
  });

  it("runs by itself, and again every interval", async () => {
    const pruner = startEventPruner({
      pool: bed.pool,
      retention,
      logger: pino({ level: "silent" }),
      everyMs: 50,
      firstAfterMs: 0,
    });
    try {
      await outboxRow(20, true);
      await inboxRow(60);
      await waitFor(async () => (await outboxIds()).length === 0 && (await inboxIds()).length === 0, {
        description: "the old rows pruned",
      });
      await outboxRow(20, true);
      const kept = await inboxRow(1);
      await waitFor(async () => (await outboxIds()).length === 0, { description: "pruned again" });
      expect(await inboxIds()).toEqual([kept]);
    } finally {
      await pruner.stop();
    }
  });
});
