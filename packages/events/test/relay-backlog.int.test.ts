import type { JetStreamClient } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { OrderPlacedSchema } from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import { waitFor } from "@shopmesh/testing";
import type pg from "pg";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createOutbox, startOutboxRelay, type WrittenOutboxRow } from "../src/index.js";
import { useEventsTestbed } from "./testbed.js";

const bed = useEventsTestbed("relay backlog", "SELECT 1");
const logger = pino({ level: "silent" });

describe("the relay's bounded marking after a marking failure", () => {
  it("publishes every handed-over row once, though more than 5,000 wait to be marked when marking resumes", async () => {
    const rowsCount = 6_000;
    const stream = bed.catalog.route(OrderPlacedSchema).stream;
    // The streams' duplicate window is 2 minutes; a marking failure of a few minutes is
    // what the commit describes. Scaled down: a 1 s window and a failure just past it.
    const info = await bed.jsm.streams.info(stream);
    await bed.jsm.streams.update(stream, { ...info.config, duplicate_window: nanos(1_000) });
    const before = (await bed.jsm.streams.info(stream)).state.messages;

    let failing = true;
    const failingPool = new Proxy(bed.pool, {
      get(target, property, receiver) {
        if (property !== "query") return Reflect.get(target, property, receiver);
        return (...args: unknown[]) => {
          if (failing && (args[0] as { name?: string }).name === "events.outbox-mark-and-claim") {
            return Promise.reject(
              Object.assign(new Error("canceling statement due to lock timeout"), { code: "55P03" }),
            );
          }
          return Reflect.apply(target.query, target, args);
        };
      },
    }) as pg.Pool;
    // Publishes the stream acknowledged, by outbox id; failed ones apart (none expected).
    const publishes = new Map<string, number>();
    let failedPublishes = 0;
    const countingJs = new Proxy(bed.js, {
      get(target, property, receiver) {
        if (property !== "publish") return Reflect.get(target, property, receiver);
        return async (subject: string, data: Uint8Array, options?: { msgID?: string }) => {
          const id = options?.msgID ?? "";
          try {
            const ack = await target.publish(subject, data, options as never);
            publishes.set(id, (publishes.get(id) ?? 0) + 1);
            return ack;
          } catch (error) {
            failedPublishes++;
            throw error;
          }
        };
      },
    }) as JetStreamClient;

    const relay = startOutboxRelay({ pool: failingPool, js: countingJs, logger, fallbackPollMs: 50 });
    try {
      // Rows committed by a writer (its 10 s claim on them) and handed over while the
      // relay's marking statement fails: published, their ids waiting to be marked.
      const outbox = createOutbox(bed.catalog);
      const prepared = Array.from({ length: rowsCount }, () =>
        outbox.prepare(OrderPlacedSchema, { orderId: crypto.randomUUID(), customerId: "c", paymentToken: "tok_visa" }),
      );
      const { rows } = await bed.pool.query<{ id: string; event_id: string }>(
        `INSERT INTO outbox (event_id, subject, event_type, payload, headers, claimed_until)
         SELECT * , now() + interval '10 seconds'
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::jsonb[])
         RETURNING id, event_id`,
        [
          prepared.map((row) => row.eventId),
          prepared.map((row) => row.subject),
          prepared.map((row) => row.eventType),
          prepared.map((row) => Buffer.from(row.payload)),
          prepared.map((row) => JSON.stringify(row.headers)),
        ],
      );
      const idOf = new Map(rows.map((row) => [row.event_id, row.id]));
      const written: WrittenOutboxRow[] = prepared.map((row) => ({ ...row, id: idOf.get(row.eventId) ?? "" }));
      for (let from = 0; from < written.length; from += 500) {
        relay.handOff(written.slice(from, from + 500));
        await waitFor(() => publishes.size + failedPublishes >= Math.min(from + 500, rowsCount), {
          timeoutMs: 30_000,
          description: `rows up to ${from + 500} published`,
        });
      }
      const publishedAt = Date.now();
      expect({ failedPublishes, published: publishes.size }).toEqual({ failedPublishes: 0, published: rowsCount });
      expect(Math.max(...publishes.values())).toBe(1);

      // The failure lasts past the writer's claim (10 s; ended here by hand) and past the
      // duplicate window (1 s here, 2 min in production); then marking works again.
      await bed.pool.query("UPDATE outbox SET claimed_until = now() - interval '1 second' WHERE published_at IS NULL");
      await waitFor(() => Date.now() > publishedAt + 1_500, { description: "the duplicate window passed" });
      failing = false;
      await waitFor(
        async () =>
          (await bed.pool.query("SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL")).rows[0].n === 0,
        { timeoutMs: 30_000, description: "every row marked published" },
      );
    } finally {
      await relay.stop();
      const restored = await bed.jsm.streams.info(stream);
      await bed.jsm.streams.update(stream, { ...restored.config, duplicate_window: nanos(120_000) });
    }
    const again = [...publishes.values()].filter((n) => n > 1).length;
    const onStream = (await bed.jsm.streams.info(stream)).state.messages - before;
    expect({ publishedAgain: again, onStream }).toEqual({ publishedAgain: 0, onStream: rowsCount });
  }, 90_000);
});
