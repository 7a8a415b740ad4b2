import { AckPolicy, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import {
  StockRejectedSchema,
  StockReleasedSchema,
  StockReservedSchema,
} from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import { useTestDatabase, useTestNats, waitFor } from "@shopmesh/testing";
import type pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allEvents,
  createEventCatalog,
  ensureStreams,
  onTx,
  publishEvent,
  type RunningConsumer,
  startConsumer,
} from "../src/index.js";
import { openEventsTestbed } from "./testbed.js";

const db = useTestDatabase("rolling");
const testNats = useTestNats("rolling");
const logger = pino({ level: "silent" });

/**
 * Two versions of a service share its durable consumers while a rolling update runs.
 * The old version's contracts lack StockReleased, which the new version handles.
 */
describe("replicas of two versions on one durable consumer", () => {
  let pool: pg.Pool;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  // The old version's contracts, where StockReleased does not exist yet.
  const catalogsOf = (namespace: string) => ({
    catalog: createEventCatalog(allEvents, namespace),
    oldCatalog: createEventCatalog(
      allEvents.filter((schema) => schema !== StockReleasedSchema),
      namespace,
    ),
  });
  const { catalog, oldCatalog } = catalogsOf(testNats.prefix);

  beforeAll(async () => {
    ({ pool, js, jsm } = await openEventsTestbed(db, testNats, "rolling-update-test"));
    await pool.query("CREATE TABLE applied (event_id uuid PRIMARY KEY, type text NOT NULL, version text NOT NULL)");
    await ensureStreams(jsm, catalog);
  });

  afterAll(async () => {
    await pool?.end();
  });

  /** What every consumer of the new version is started with besides its own options. */
  const plumbing = () => ({ js, jsm, pool, logger, catalog });
  const record = (version: string) => async (event: { eventId: string; $typeName: string }, tx: pg.PoolClient) => {
    await tx.query("INSERT INTO applied (event_id, type, version) VALUES ($1, $2, $3)", [
      event.eventId,
      event.$typeName,
      version,
    ]);
  };
  const appliedOf = async (type: string) =>
    (
      await pool.query<{ version: string; n: number }>(
        "SELECT version, count(*)::int AS n FROM applied WHERE type = $1 GROUP BY version",
        [type],
      )
    ).rows;
  const deadLetters = async (stream = catalog.deadLetterStream) => (await jsm.streams.info(stream)).state.messages;
  const startOld = (name: string, options: { catalog?: typeof oldCatalog; maxDeliveries?: number } = {}) =>
    startConsumer({
      ...plumbing(),
      catalog: options.catalog ?? oldCatalog,
      name,
      retryDelaysMs: [20],
      ...(options.maxDeliveries ? { maxDeliveries: options.maxDeliveries } : {}),
      subscriptions: [onTx(StockReservedSchema, record("old")), onTx(StockRejectedSchema, record("old"))],
    });

  it("hands an event of a type it does not know to the replica that handles it", async () => {
    const replicas: RunningConsumer[] = [];
    try {
      // The old replica first: it is pulling when the events arrive.
      replicas.push(await startOld("rolling"));
      replicas.push(
        await startConsumer({
          ...plumbing(),
          name: "rolling",
          retryDelaysMs: [20],
          subscriptions: [
            onTx(StockReservedSchema, record("new")),
            onTx(StockRejectedSchema, record("new")),
            onTx(StockReleasedSchema, record("new")),
          ],
        }),
      );
      const published = 20;
      for (let i = 0; i < published; i++) {
        await publishEvent(js, catalog, StockReleasedSchema, { orderId: crypto.randomUUID(), items: [] });
      }
      await waitFor(async () => (await appliedOf(StockReleasedSchema.typeName))[0]?.n === published, {
        description: "every StockReleased applied",
      });
      expect(await appliedOf(StockReleasedSchema.typeName)).toEqual([{ version: "new", n: published }]);
      expect(await deadLetters()).toBe(0);
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop()));
    }
  });

  it("gives an event the old version handed back all its retries in the new one", async () => {
    // Only the old version runs at first (the producer rolled out first): it hands the
    // event back, five deliveries and more.
    // Streams of its own: the only event on them is this one.
    const own = catalogsOf(`${testNats.prefix}H`);
    await ensureStreams(jsm, own.catalog);
    const handedBack: number[] = [];
    const old = await startConsumer({
      ...plumbing(),
      logger: pino(
        { level: "warn" },
        {
          write: (line: string) => {
            const entry = JSON.parse(line) as { msg: string; deliveryCount: number };
            if (entry.msg === "event of an unknown type handed back") handedBack.push(entry.deliveryCount);
          },
        },
      ),
      catalog: own.oldCatalog,
      name: "handed-back",
      retryDelaysMs: [20],
      subscriptions: [onTx(StockReservedSchema, record("old")), onTx(StockRejectedSchema, record("old"))],
    });
    const event = await publishEvent(js, own.catalog, StockReleasedSchema, { orderId: crypto.randomUUID(), items: [] });
    try {
      await waitFor(() => handedBack.length >= 5, { description: "five hand-backs" });
    } finally {
      await old.stop();
    }
    // The new version's handler fails once (a lost connection), then works.
    let calls = 0;
    const newer = await startConsumer({
      ...plumbing(),
      catalog: own.catalog,
      name: "handed-back",
      retryDelaysMs: [20],
      subscriptions: [
        onTx(StockReservedSchema, record("new")),
        onTx(StockRejectedSchema, record("new")),
        onTx(StockReleasedSchema, async (released, tx) => {
          if (++calls === 1) throw new Error("connection terminated unexpectedly");
          await record("new")(released, tx);
        }),
      ],
    });
    try {
      await waitFor(
        async () => (await pool.query("SELECT 1 FROM applied WHERE event_id = $1", [event.eventId])).rowCount === 1,
        { description: "the event applied on its second attempt" },
      );
      expect(calls).toBe(2);
    } finally {
      await newer.stop();
    }
  });

  it("parks an event no replica knows in the dead-letter stream after maxDeliveries, with the reason", async () => {
    // Streams of its own: nothing published by the other tests to go through first.
    const own = catalogsOf(`${testNats.prefix}B`);
    await ensureStreams(jsm, own.catalog);
    const consumer = await startOld("alone", { catalog: own.oldCatalog, maxDeliveries: 3 });
    try {
      const event = await publishEvent(js, own.catalog, StockReleasedSchema, {
        orderId: crypto.randomUUID(),
        items: [],
      });
      await waitFor(async () => (await deadLetters(own.catalog.deadLetterStream)) === 1, {
        description: "the event dead-lettered",
      });
      const parked = await jsm.streams.getMessage(own.catalog.deadLetterStream, {
        last_by_subj: own.catalog.deadLetterSubject("alone"),
      });
      expect(parked?.header.get("Shopmesh-Dead-Letter-Reason")).toBe(
        `no handler for ${own.catalog.route(StockReleasedSchema).subject} in this version`,
      );
      expect(parked?.header.get("Shopmesh-Deliveries")).toBe("6");
      expect((await pool.query("SELECT 1 FROM applied WHERE event_id = $1", [event.eventId])).rowCount).toBe(0);
    } finally {
      await consumer.stop();
    }
  });

  it("refuses to start a whole-stream consumer that neither handles nor ignores a type of its stream", async () => {
    const undecided = startConsumer({
      ...plumbing(),
      name: "undecided",
      subscriptions: [onTx(StockReservedSchema, record("new")), onTx(StockRejectedSchema, record("new"))],
    });
    await expect(undecided).rejects.toThrow(
      `consumer "undecided" reads whole streams but neither handles nor ignores ${StockReleasedSchema.typeName}`,
    );
  });

  it("puts its settings back when a replica of the version before rewrites them", async () => {
    const name = "rewritten";
    const stream = catalog.streamName("INVENTORY");
    const consumer = await startConsumer({
      ...plumbing(),
      name,
      retryDelaysMs: [20],
      settingsCheckMs: 100,
      subscriptions: [
        onTx(StockReservedSchema, async (event, tx, delivery) => {
          // The database is unavailable for the first 7 deliveries: not counted as attempts.
          if (delivery.deliveryCount <= 7) throw Object.assign(new Error("starting up"), { code: "57P03" });
          await record("new")(event, tx);
        }),
      ],
    });
    try {
      // What the version before revisions declared at its start: deliveries bounded by the server.
      const { config } = await jsm.consumers.info(stream, name);
      await jsm.consumers.update(stream, name, { ...config, max_deliver: 6, description: "" });
      await waitFor(async () => (await jsm.consumers.info(stream, name)).config.max_deliver === -1, {
        description: "the settings restored",
      });
      const event = await publishEvent(js, catalog, StockReservedSchema, { orderId: crypto.randomUUID() });
      await waitFor(
        async () => (await pool.query("SELECT 1 FROM applied WHERE event_id = $1", [event.eventId])).rowCount === 1,
        { description: "the event applied after its eighth delivery" },
      );
    } finally {
      await consumer.stop();
    }
  });

  it("keeps the wider filter when a replica of the release before, subscribed to less, starts beside the new one", async () => {
    const own = catalogsOf(`${testNats.prefix}F`);
    await ensureStreams(jsm, own.catalog);
    const common = { js, jsm, pool, logger, catalog: own.catalog, name: "widened", retryDelaysMs: [20] };
    // The new release handles the whole INVENTORY stream; the one before, StockReserved only.
    const newer = await startConsumer({
      ...common,
      subscriptions: [
        onTx(StockReservedSchema, record("new")),
        onTx(StockRejectedSchema, record("new")),
        onTx(StockReleasedSchema, record("new")),
      ],
    });
    const older = await startConsumer({ ...common, subscriptions: [onTx(StockReservedSchema, record("old"))] });
    try {
      const stream = own.catalog.streamName("INVENTORY");
      expect((await jsm.consumers.info(stream, "widened")).config.filter_subject).toBe(
        own.catalog.streamSubjects("INVENTORY"),
      );
      const events = [
        await publishEvent(js, own.catalog, StockReleasedSchema, { orderId: crypto.randomUUID(), items: [] }),
        await publishEvent(js, own.catalog, StockReservedSchema, { orderId: crypto.randomUUID() }),
      ];
      await waitFor(
        async () =>
          (await pool.query("SELECT 1 FROM applied WHERE event_id = ANY($1)", [events.map((e) => e.eventId)]))
            .rowCount === 2,
        { description: "both events applied" },
      );
      const { rows } = await pool.query<{ version: string }>("SELECT version FROM applied WHERE event_id = $1", [
        events[0]?.eventId,
      ]);
      expect(rows).toEqual([{ version: "new" }]);
    } finally {
      await Promise.all([newer.stop(), older.stop()]);
    }
  });

  it("leaves the settings of a newer version alone", async () => {
    const name = "newer";
    const stream = catalog.streamName("INVENTORY");
    await jsm.consumers.add(stream, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      filter_subject: catalog.route(StockReservedSchema).subject,
      max_deliver: 50,
      description: "shopmesh consumer settings r99",
    });
    const consumer = await startConsumer({
      ...plumbing(),
      name,
      settingsCheckMs: 100,
      subscriptions: [onTx(StockReservedSchema, record("old"))],
    });
    try {
      const { config } = await jsm.consumers.info(stream, name);
      expect([config.max_deliver, config.description]).toEqual([50, "shopmesh consumer settings r99"]);
    } finally {
      await consumer.stop();
    }
  });
});
