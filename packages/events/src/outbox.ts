import { randomUUID } from "node:crypto";
import { create, type DescMessage, type MessageInitShape, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { statement } from "@shopmesh/pg";
import type pg from "pg";
import type { EventCatalog } from "./event-catalog.js";

const appendOne = statement(
  "events.outbox-append",
  "INSERT INTO outbox (event_id, subject, event_type, payload, headers) VALUES ($1, $2, $3, $4, $5)",
);

/** Fields every event has; the outbox fills them in. */
type EventEnvelope = "eventId" | "occurTime";

/** An event to write, without the envelope fields the outbox fills in. */
export type NewEvent<Desc extends DescMessage> = Omit<MessageInitShape<Desc>, EventEnvelope | "$typeName">;

/**
 * Writes events to the outbox inside the caller's transaction, so they are
 * published if and only if the state change commits. Assigns each a new event id and
 * occur time. After the commit, `committed()` wakes the relay.
 *
 * ```ts
 * await withTx(pool, async (tx) => {
 *   await saveOrder(tx, order);
 *   await outbox.append(tx, OrderPlacedSchema, { orderId, ... });
 * });
 * outbox.committed();
 * ```
 */
export interface Outbox {
  append<Desc extends DescMessage>(tx: pg.ClientBase, schema: Desc, event: NewEvent<Desc>): Promise<MessageShape<Desc>>;
  /**
   * The outbox row of an event, for a store that writes it in the same statement as
   * its state change (see {@link outboxInsertSql}).
   */
  prepare<Desc extends DescMessage>(schema: Desc, event: NewEvent<Desc>): OutboxRow;
  /**
   * Says that a transaction that wrote outbox rows has committed, waking this
   * process's relay at once. (Not NOTIFY: every notifying commit in a PostgreSQL
   * cluster queues on one lock held through the WAL flush.)
   */
  committed(): void;
  /** Registers what `committed` wakes (the relay). */
  onCommitted(listener: () => void): void;
}

/** The values of one outbox row, in the column order of {@link outboxInsertSql}. */
export interface OutboxRow {
  readonly eventId: string;
  readonly subject: string;
  readonly eventType: string;
  readonly payload: Uint8Array;
  readonly headers: Record<string, string>;
}

/**
 * SQL for a data-modifying CTE that writes one outbox row from five parameters
 * starting at `$first` (eventId, subject, eventType, payload, headers), when the CTE
 * named `guard` produced a row. Call {@link Outbox.committed} after the commit.
 */
export function outboxInsertSql(first: number, guard: string): string {
  const p = (offset: number) => `$${first + offset}`;
  return `INSERT INTO outbox (event_id, subject, event_type, payload, headers)
          SELECT ${p(0)}::uuid, ${p(1)}, ${p(2)}, ${p(3)}::bytea, ${p(4)}::jsonb FROM ${guard}`;
}

/**
 * SQL that writes any number of outbox rows from five array parameters starting at
 * `$first` (see {@link outboxManyParams}); usable as a statement or a data-modifying CTE.
 */
export function outboxInsertManySql(first: number): string {
  const p = (offset: number) => `$${first + offset}`;
  return `INSERT INTO outbox (event_id, subject, event_type, payload, headers)
          SELECT * FROM unnest(${p(0)}::uuid[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::bytea[], ${p(4)}::jsonb[])`;
}

/**
 * Like {@link outboxInsertManySql}, for a data-modifying CTE that writes each row only
 * when the CTE `guard` produced a row whose `column` equals the row's key — the
 * element of the array parameter `keys` (such as `$4::uuid[]`) at the row's position.
 * A statement that changes several records announces the changes that happened.
 */
export function outboxInsertManyGuardedSql(
  first: number,
  guard: { readonly keys: string; readonly cte: string; readonly column: string },
): string {
  const p = (offset: number) => `$${first + offset}`;
  return `INSERT INTO outbox (event_id, subject, event_type, payload, headers)
          SELECT o.event_id, o.subject, o.event_type, o.payload, o.headers
            FROM unnest(${p(0)}::uuid[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::bytea[], ${p(4)}::jsonb[], ${guard.keys})
                 AS o(event_id, subject, event_type, payload, headers, key)
            JOIN ${guard.cte} ON ${guard.cte}.${guard.column} = o.key`;
}

/** The parameters of {@link outboxInsertManySql} for rows. */
export function outboxManyParams(rows: readonly OutboxRow[]): unknown[] {
  return [
    rows.map((row) => row.eventId),
    rows.map((row) => row.subject),
    rows.map((row) => row.eventType),
    rows.map((row) => Buffer.from(row.payload)),
    rows.map((row) => JSON.stringify(row.headers)),
  ];
}

/** The parameters of {@link outboxInsertSql} for a row. */
export function outboxParams(row: OutboxRow): unknown[] {
  return [row.eventId, row.subject, row.eventType, Buffer.from(row.payload), JSON.stringify(row.headers)];
}

/** An event to write (see {@link Outbox.prepare}): its type and its fields. */
export interface OutboxEvent {
  readonly schema: DescMessage;
  readonly event: NewEvent<DescMessage>;
}

/** Builds an event with a fresh id and occur time, and its outbox row values. */
function outboxRow(
  catalog: EventCatalog,
  headers: (orderId?: string) => Record<string, string>,
  schema: DescMessage,
  init: NewEvent<DescMessage>,
) {
  const message = create(schema, {
    ...(init as MessageInitShape<typeof schema>),
    eventId: randomUUID(),
    occurTime: timestampNow(),
  } as MessageInitShape<typeof schema>);
  const { eventId, orderId } = message as unknown as { eventId: string; orderId?: string };
  return {
    message,
    eventId,
    subject: catalog.route(schema).subject,
    eventType: schema.typeName,
    payload: toBinary(schema, message),
    headers: orderId ? { ...headers(orderId), "Shopmesh-Key": orderId } : headers(),
  };
}

/**
 * Creates the outbox writer for a catalog. `headers` gives the headers stored with an
 * event (the trace context), given the order the event is about.
 */
export function createOutbox(
  catalog: EventCatalog,
  headers: (orderId?: string) => Record<string, string> = () => ({}),
): Outbox {
  const listeners = new Set<() => void>();
  return {
    async append(tx, schema, init) {
      const row = outboxRow(catalog, headers, schema, init as NewEvent<DescMessage>);
      await appendOne(tx, outboxParams(row));
      return row.message as MessageShape<typeof schema>;
    },
    committed() {
      for (const listener of listeners) listener();
    },
    onCommitted(listener) {
      listeners.add(listener);
    },
    prepare(schema, init) {
      return outboxRow(catalog, headers, schema, init as NewEvent<DescMessage>);
    },
  };
}
