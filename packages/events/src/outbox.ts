import { randomUUID } from "node:crypto";
import { create, type DescMessage, type MessageInitShape, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { afterCommit, isWithTxClient, type Queryable, statement } from "@shopmesh/pg";
import pg from "pg";
import type { EventCatalog } from "./event-catalog.js";

/**
 * How long a row stays claimed by the process that wrote it (seconds): that process
 * publishes it right after its commit (see {@link Outbox.written}); only if it has
 * not (it crashed, or its publish failed and it could not say so) does another relay
 * take the row over after this.
 */
const writerLeaseSeconds = 10;

/** The columns every outbox insert writes, the writer's claim included. */
const insertedColumns = "event_id, subject, event_type, payload, headers, claimed_until";
// Counted from the start of the writer's transaction (now()), not from its commit.
const writerClaim = `now() + interval '${writerLeaseSeconds} seconds'`;

const appendOne = statement<OutboxWritten>(
  "events.outbox-append",
  `WITH announced AS (
     INSERT INTO outbox (${insertedColumns}) VALUES ($1, $2, $3, $4, $5, ${writerClaim}) RETURNING id, event_id
   )
   SELECT ${outboxWrittenSql("announced")}`,
);

/** Fields every event has; the outbox fills them in. */
type EventEnvelope = "eventId" | "occurTime";

/** An event to write, without the envelope fields the outbox fills in. */
export type NewEvent<Desc extends DescMessage> = Omit<MessageInitShape<Desc>, EventEnvelope | "$typeName">;

/**
 * Writes events to the outbox inside the caller's transaction, so they are
 * published if and only if the state change commits, and hands the rows written to
 * this process's relay once they have committed: it publishes them at once, without
 * reading them back. Assigns each event a new id and occur time.
 *
 * ```ts
 * await withTx(pool, async (tx) => {
 *   await saveOrder(tx, order);
 *   await outbox.append(tx, OrderPlacedSchema, { orderId, ... });
 * });
 * ```
 *
 * A store that writes the row in the same statement as its state change prepares it
 * ({@link Outbox.prepare}), inserts it with {@link outboxInsertSql} (or its siblings),
 * selects {@link outboxWrittenSql} and says so with {@link Outbox.written}.
 */
export interface Outbox {
  append<Desc extends DescMessage>(tx: pg.ClientBase, schema: Desc, event: NewEvent<Desc>): Promise<MessageShape<Desc>>;
  /**
   * The outbox row of an event, for a store that writes it in the same statement as
   * its state change (see {@link outboxInsertSql}).
   */
  prepare<Desc extends DescMessage>(schema: Desc, event: NewEvent<Desc>): OutboxRow;
  /**
   * Hands the rows of `prepared` that `statement` writes to this process's relay once
   * they have committed, which publishes them at once. `statement`'s first row has its
   * {@link outboxWrittenSql} column (the rows it did write). On a pool the statement
   * commits on its own; on a client withTx handed its work, the rows are handed over
   * after COMMIT (never if it rolls back). Rows never handed over — the process
   * crashed after its commit, or they were written on a client of neither kind — are
   * published by a relay's poll once the writer's claim ends.
   */
  written(
    db: Queryable,
    prepared: readonly OutboxRow[],
    statement: Promise<pg.QueryResult<Partial<OutboxWritten>>>,
  ): void;
  /** Registers what {@link Outbox.written} hands the rows to (the relay). */
  onWritten(listener: (rows: readonly WrittenOutboxRow[]) => void): void;
}

/** The values of one outbox row, in the column order of {@link outboxInsertSql}. */
export interface OutboxRow {
  readonly eventId: string;
  readonly subject: string;
  readonly eventType: string;
  readonly payload: Uint8Array;
  readonly headers: Record<string, string>;
  /** When it was prepared (`performance.now()`), before the statement that writes it. */
  readonly preparedAt: number;
}

/** An outbox row a committed statement wrote: its values and its id. */
export interface WrittenOutboxRow extends OutboxRow {
  readonly id: string;
}

/** The column {@link outboxWrittenSql} adds to a statement's result. */
export type OutboxWritten = {
  /**
   * `id/event_id` of each outbox row the statement wrote, comma-separated (text, not an
   * array: `pg` parses array literals character by character); null when it wrote none.
   */
  outbox_written: string | null;
};

/**
 * A select-list item reporting the outbox rows that the data-modifying CTE `cte` (one
 * of the inserts here, which answer `RETURNING id, event_id`) wrote: the
 * `outbox_written` column that {@link Outbox.written} takes. It is the same on every
 * row of the result, so a statement that may answer no rows while writing outbox rows
 * must answer one.
 */
export function outboxWrittenSql(cte: string): string {
  return `(SELECT string_agg(id::text || '/' || event_id::text, ',') FROM ${cte}) AS outbox_written`;
}

/** The rows of `prepared` that `written` (an {@link OutboxWritten} column) reports, with their ids. */
function writtenRows(prepared: readonly OutboxRow[], written: string | null | undefined): WrittenOutboxRow[] {
  if (!written) return [];
  const byEvent = new Map(prepared.map((row) => [row.eventId, row]));
  return written.split(",").flatMap((entry) => {
    const [id = "", eventId = ""] = entry.split("/");
    const row = byEvent.get(eventId);
    return row ? [{ ...row, id }] : [];
  });
}

/**
 * SQL for a data-modifying CTE that writes one outbox row from five parameters
 * starting at `$first` (eventId, subject, eventType, payload, headers), when the CTE
 * named `guard` produced a row; select {@link outboxWrittenSql} and tell {@link Outbox.written}.
 */
export function outboxInsertSql(first: number, guard: string): string {
  const p = (offset: number) => `$${first + offset}`;
  return `INSERT INTO outbox (${insertedColumns})
          SELECT ${p(0)}::uuid, ${p(1)}, ${p(2)}, ${p(3)}::bytea, ${p(4)}::jsonb, ${writerClaim} FROM ${guard}
          RETURNING id, event_id`;
}

/**
 * SQL that writes any number of outbox rows from five array parameters starting at
 * `$first` (see {@link outboxManyParams}); usable as a statement or a data-modifying CTE.
 */
export function outboxInsertManySql(first: number): string {
  const p = (offset: number) => `$${first + offset}`;
  return `INSERT INTO outbox (${insertedColumns})
          SELECT *, ${writerClaim}
            FROM unnest(${p(0)}::uuid[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::bytea[], ${p(4)}::jsonb[])
          RETURNING id, event_id`;
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
  return `INSERT INTO outbox (${insertedColumns})
          SELECT o.event_id, o.subject, o.event_type, o.payload, o.headers, ${writerClaim}
            FROM unnest(${p(0)}::uuid[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::bytea[], ${p(4)}::jsonb[], ${guard.keys})
                 AS o(event_id, subject, event_type, payload, headers, key)
            JOIN ${guard.cte} ON ${guard.cte}.${guard.column} = o.key
          RETURNING id, event_id`;
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
    preparedAt: performance.now(),
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
  const listeners = new Set<(rows: readonly WrittenOutboxRow[]) => void>();
  const outbox: Outbox = {
    async append(tx, schema, init) {
      const row = outboxRow(catalog, headers, schema, init as NewEvent<DescMessage>);
      const written = appendOne(tx, outboxParams(row));
      await written;
      outbox.written(tx, [row], written);
      return row.message as MessageShape<typeof schema>;
    },
    written(db, prepared, statement) {
      // Handled at once: when the statement fails inside withTx no COMMIT comes to hand
      // anything over, and the failure is the transaction's (withTx throws it).
      const settled = statement.then(({ rows }) => rows[0]?.outbox_written).catch(() => undefined);
      const handOver = () =>
        void settled.then((written) => {
          const rows = writtenRows(prepared, written);
          if (rows.length === 0) return;
          for (const listener of listeners) {
            try {
              listener(rows);
            } catch (error) {
              // The rows committed: a listener's failure leaves them to a relay's poll.
              process.emitWarning(`an outbox hand-over failed: ${String(error)}`);
            }
          }
        });
      if (db instanceof pg.Pool) handOver();
      else if (isWithTxClient(db)) afterCommit(db, handOver); // every statement succeeded by then
      // On any other client nothing says when the rows commit: they wait for a relay's poll.
    },
    onWritten(listener) {
      listeners.add(listener);
    },
    prepare(schema, init) {
      return outboxRow(catalog, headers, schema, init as NewEvent<DescMessage>);
    },
  };
  return outbox;
}
