import { fromBinary, type JsonValue, toJson } from "@bufbuild/protobuf";
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type StoredMsg,
} from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import {
  deadLetterHeader,
  firstDeadLetteredAtHeader,
  originalMessageIdHeader,
  replayForHeader,
} from "./dead-letter.js";
import type { EventCatalog } from "./event-catalog.js";

/** The headers the dead-letter copy added to the event's own: not re-published. */
const addedHeaders: readonly string[] = Object.values(deadLetterHeader);

/** An event parked in the dead-letter stream, as an operator reads it. */
export interface DeadLetter {
  /** Its sequence in the dead-letter stream: what replay and discard take. */
  readonly seq: number;
  readonly deadLetteredAt: Date;
  /** When the event was first parked: earlier than deadLetteredAt when it was replayed and failed again. */
  readonly firstDeadLetteredAt: Date;
  /** The durable consumer that could not apply it. */
  readonly consumer: string;
  readonly reason: string;
  /** Deliveries to that consumer before it gave up. */
  readonly deliveries: number;
  /** Where the event was: its stream, subject and sequence there. */
  readonly original: { readonly stream: string; readonly subject: string; readonly seq: number };
  /** The producer's id of the message (the outbox id at the producer, which outbox:republish takes). */
  readonly messageId?: string;
  readonly eventId?: string;
  readonly eventType?: string;
  /** The order it is about (its Shopmesh-Key header). */
  readonly orderId?: string;
  /** The event, decoded by its subject's type; absent when its payload cannot be decoded. */
  readonly event?: JsonValue;
}

/** What a replay did: the event went back to this subject. */
export interface Replayed {
  readonly seq: number;
  readonly subject: string;
  /** The event's sequence in its stream now; consumers that applied it before skip it as a duplicate. */
  readonly streamSeq: number;
}

/** A dead letter that is not there: never written, or already replayed or discarded. */
export class DeadLetterNotFound extends Error {
  constructor(readonly seq: number) {
    super(`no dead letter with sequence ${seq}`);
  }
}

/**
 * A dead letter first parked longer ago than the dead-letter stream keeps one: it was
 * replayed and parked again. The inboxes' retention counts one stay (decision 0014), so
 * a consumer that applied the event may have forgotten it and would apply it again.
 */
export class DeadLetterExpired extends Error {
  constructor(
    readonly seq: number,
    readonly firstDeadLetteredAt: Date,
    readonly maxAgeMs: number,
  ) {
    super(
      `dead letter ${seq} was first parked ${days(Date.now() - firstDeadLetteredAt.getTime())} ago, ` +
        `longer than the dead-letter stream keeps one (${days(maxAgeMs)}): a consumer that applied the event ` +
        "may no longer remember it and would apply it again. Discard it and repair by hand, or replay it with " +
        "force once every consumer of its subject is known to remember it (INBOX_RETENTION_DAYS)",
    );
  }
}

/**
 * The events parked in the dead-letter stream, oldest first — every consumer's, or
 * one consumer's. Reads them one by one by sequence (a dead-letter stream is short:
 * an alert fires at the first), skipping those replayed or discarded.
 */
export async function listDeadLetters(
  jsm: JetStreamManager,
  catalog: EventCatalog,
  { consumer }: { consumer?: string } = {},
): Promise<DeadLetter[]> {
  const { state } = await jsm.streams.info(catalog.deadLetterStream);
  const subject = consumer === undefined ? undefined : catalog.deadLetterSubject(consumer);
  const found: DeadLetter[] = [];
  if (state.messages === 0) return found;
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const message = await jsm.streams.getMessage(catalog.deadLetterStream, { seq });
    if (message && (subject === undefined || message.subject === subject)) found.push(readDeadLetter(catalog, message));
  }
  return found;
}

/**
 * Publishes a dead-lettered event again to its original subject, with its own headers
 * (event id, order key, trace context), then removes it from the dead-letter stream.
 * The replay is for the consumer that parked it (`Shopmesh-Replay-For`): that one
 * applies it (it never recorded it in its inbox), every other consumer of the subject
 * acknowledges it unapplied. Refused when that consumer's durable no longer reads the
 * subject (a later version narrowed it): no one would apply it. Run it once the cause
 * is fixed; an event that fails again is parked again, under a new sequence, keeping
 * the time it was first parked: past the dead-letter stream's age from then it is
 * refused (DeadLetterExpired) unless forced. Replaying the same dead letter twice
 * within JetStream's duplicate window publishes it once; a letter discarded while it
 * was replayed counts as replayed.
 */
export async function replayDeadLetter(
  js: JetStreamClient,
  jsm: JetStreamManager,
  catalog: EventCatalog,
  seq: number,
  { force = false }: { force?: boolean } = {},
): Promise<Replayed> {
  const message = await jsm.streams.getMessage(catalog.deadLetterStream, { seq });
  if (!message) throw new DeadLetterNotFound(seq);
  const first = firstDeadLetteredAt(message);
  if (!force) {
    const maxAgeMs = (await jsm.streams.info(catalog.deadLetterStream)).config.max_age / 1e6;
    if (maxAgeMs > 0 && Date.now() - first.getTime() > maxAgeMs) throw new DeadLetterExpired(seq, first, maxAgeMs);
  }
  const subject = message.header.get(deadLetterHeader.subject);
  if (!subject) throw new Error(`dead letter ${seq} does not say where it came from (${deadLetterHeader.subject})`);
  const consumer = message.header.get(deadLetterHeader.consumer);
  const stream = message.header.get(deadLetterHeader.stream);
  if (!(await durableReads(jsm, stream, consumer, subject))) {
    throw new Error(
      `dead letter ${seq}: consumer ${consumer} no longer reads ${subject} from ${stream}, so a replay would ` +
        "reach no consumer that parked it. Discard it and repair by hand",
    );
  }
  const headers = natsHeaders();
  for (const [key, values] of message.header) {
    if (!addedHeaders.includes(key)) for (const value of values) headers.append(key, value);
  }
  // A copy parked before the header existed: its first parking is its own.
  if (!headers.has(firstDeadLetteredAtHeader)) headers.set(firstDeadLetteredAtHeader, first.toISOString());
  headers.set(replayForHeader, consumer);
  const ack = await js.publish(subject, message.data, {
    headers,
    // The letter's stored time as well as its sequence: a dead-letter stream made again
    // numbers its letters from 1 again, and a replay taken for a duplicate is dropped.
    msgID: `${catalog.deadLetterStream}:${seq}:${message.timestamp}:replay`,
  });
  try {
    await discardDeadLetter(jsm, catalog, seq);
  } catch (error) {
    // Discarded meanwhile: the event was replayed all the same.
    if (!(error instanceof DeadLetterNotFound)) throw error;
  }
  return { seq, subject, streamSeq: ack.seq };
}

/** Whether the durable `consumer` of `stream` exists and its filter takes `subject`. */
async function durableReads(jsm: JetStreamManager, stream: string, consumer: string, subject: string) {
  const filter = await jsm.consumers.info(stream, consumer).then(
    (info) => info.config.filter_subject ?? "",
    (error: unknown) => {
      const gone: readonly number[] = [JetStreamApiCodes.ConsumerNotFound, JetStreamApiCodes.StreamNotFound];
      if (error instanceof JetStreamApiError && gone.includes(error.code)) return undefined;
      throw error;
    },
  );
  if (filter === undefined) return false;
  return filter === "" || filter === subject || (filter.endsWith(".>") && subject.startsWith(filter.slice(0, -1)));
}

/** Removes a dead letter without replaying it: for an event dealt with otherwise. */
export async function discardDeadLetter(jsm: JetStreamManager, catalog: EventCatalog, seq: number): Promise<void> {
  try {
    await jsm.streams.deleteMessage(catalog.deadLetterStream, seq);
  } catch (error) {
    // Deleting a sequence that holds no message is an API error ("no message found").
    if (!(await jsm.streams.getMessage(catalog.deadLetterStream, { seq }))) throw new DeadLetterNotFound(seq);
    throw error;
  }
}

function readDeadLetter(catalog: EventCatalog, message: StoredMsg): DeadLetter {
  const header = (key: string) => message.header.get(key) || undefined;
  const originalSubject = header(deadLetterHeader.subject) ?? "";
  return {
    seq: message.seq,
    deadLetteredAt: message.time,
    firstDeadLetteredAt: firstDeadLetteredAt(message),
    consumer: header(deadLetterHeader.consumer) ?? message.subject.split(".").at(-1) ?? "",
    reason: header(deadLetterHeader.reason) ?? "",
    deliveries: Number(header(deadLetterHeader.deliveries) ?? 0),
    original: {
      stream: header(deadLetterHeader.stream) ?? "",
      subject: originalSubject,
      seq: Number(header(deadLetterHeader.sequence) ?? 0),
    },
    messageId: header(originalMessageIdHeader),
    eventId: header("Shopmesh-Event-Id"),
    eventType: header("Shopmesh-Event-Type"),
    orderId: header("Shopmesh-Key"),
    event: decoded(catalog, originalSubject, message.data),
  };
}

/** The first parking's time, from its header; a copy parked before the header existed is its own first. */
function firstDeadLetteredAt(message: StoredMsg): Date {
  const first = new Date(message.header.get(firstDeadLetteredAtHeader));
  return Number.isNaN(first.getTime()) ? message.time : first;
}

function days(ms: number): string {
  const whole = Math.floor(ms / 86_400_000);
  return whole === 1 ? "1 day" : `${whole} days`;
}

function decoded(catalog: EventCatalog, subject: string, data: Uint8Array): JsonValue | undefined {
  const schema = catalog.schemaForSubject(subject);
  if (!schema) return undefined;
  try {
    return toJson(schema, fromBinary(schema, data));
  } catch {
    return undefined;
  }
}
