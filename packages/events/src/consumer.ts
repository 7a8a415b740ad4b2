import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { withTx } from "@shopmesh/pg";
import type pg from "pg";
import type { Logger } from "pino";
import { deadLetter } from "./dead-letter.js";
import type { EventCatalog } from "./event-catalog.js";
import { createKeyedQueue } from "./keyed-queue.js";

/** An event that can never be applied (malformed, impossible): dead-lettered at once, not retried. */
export class PermanentEventError extends Error {
  override name = "PermanentEventError";
}

/** What a handler knows about the delivery it handles. */
export interface EventContext {
  readonly eventId: string;
  readonly subject: string;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  /**
   * Runs `work` in a transaction that first records the event in this consumer's
   * inbox. If the event was already applied it does nothing and answers undefined:
   * the effect and the inbox row commit together, so a redelivery is a no-op.
   */
  transaction<T>(work: (tx: pg.PoolClient) => Promise<T>): Promise<T | undefined>;
}

/** Applies one event type. Throwing retries it later (or dead-letters it). */
export type EventHandler<Desc extends DescMessage> = (
  event: MessageShape<Desc>,
  context: EventContext,
) => Promise<void>;

/** An event type with its handler. */
export interface EventSubscription {
  readonly schema: DescMessage;
  readonly handle: EventHandler<DescMessage>;
}

/** Pairs an event type with a type-checked handler. */
export function on<Desc extends DescMessage>(schema: Desc, handle: EventHandler<Desc>): EventSubscription {
  return { schema, handle: handle as EventHandler<DescMessage> };
}

/** A durable consumer of one stream, shared by every replica of a service. */
export interface ConsumerOptions {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly catalog: EventCatalog;
  /** The durable name, which is also the inbox's consumer key, such as "inventory". */
  readonly name: string;
  /** The stream as named in the contracts, such as "ORDERS". */
  readonly stream: string;
  readonly subscriptions: readonly EventSubscription[];
  /** Deliveries before an event that keeps failing is dead-lettered (default 5). */
  readonly maxAttempts?: number;
  /** Delay before each retry; the last applies to any further one (default 100 ms … 5 s). */
  readonly retryDelaysMs?: readonly number[];
  /** Events handled at once (default 32); events of the same order never run together. */
  readonly concurrency?: number;
  /** How long the server waits for an ack before redelivering (default 30 s). */
  readonly ackWaitMs?: number;
}

/** A running consumer. */
export interface RunningConsumer {
  /** Stops pulling, finishes the events in hand, and returns. */
  stop(): Promise<void>;
}

/**
 * Declares the durable pull consumer (explicit acks, bounded deliveries) and handles
 * its events: decode, apply through the handler inside an inbox transaction, ack
 * after commit. A failure is retried with `nak(delay)`; after maxAttempts, or at once
 * for a PermanentEventError or an undecodable message, the event is copied to the
 * dead-letter stream with the reason and terminated — never silently dropped.
 */
export async function startConsumer(options: ConsumerOptions): Promise<RunningConsumer> {
  const stream = options.catalog.streamName(options.stream);
  const maxAttempts = options.maxAttempts ?? 5;
  const concurrency = options.concurrency ?? 32;
  const config = {
    durable_name: options.name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: options.catalog.streamSubjects(options.stream),
    ack_wait: nanos(options.ackWaitMs ?? 30_000),
    max_deliver: maxAttempts + 1,
    max_ack_pending: Math.max(1000, concurrency * 4),
  };
  const exists = await options.jsm.consumers.info(stream, options.name).then(
    () => true,
    () => false,
  );
  if (exists) await options.jsm.consumers.update(stream, options.name, config);
  else await options.jsm.consumers.add(stream, config);

  const handlers = new Map(options.subscriptions.map((s) => [s.schema.typeName, s]));
  const queue = createKeyedQueue(concurrency);
  const consumer = await options.js.consumers.get(stream, options.name);
  const messages = await consumer.consume({ max_messages: concurrency * 2 });
  const handle = (message: JsMsg) => handleMessage(options, handlers, maxAttempts, message);

  const loop = (async () => {
    for await (const message of messages) {
      await queue.push(keyOf(message), () => handle(message));
    }
  })();

  return {
    async stop() {
      await messages.close();
      await loop.catch(() => undefined);
      await queue.idle();
    },
  };
}

async function handleMessage(
  options: ConsumerOptions,
  handlers: Map<string, EventSubscription>,
  maxAttempts: number,
  message: JsMsg,
): Promise<void> {
  const { logger, catalog } = options;
  const deliveryCount = message.info.deliveryCount;
  const schema = catalog.schemaForSubject(message.subject);
  const subscription = schema && handlers.get(schema.typeName);
  if (!subscription) {
    message.ack();
    return;
  }
  const fail = (reason: string, error?: unknown) => deadLetter(options, message, reason, error);
  let event: MessageShape<DescMessage>;
  try {
    event = fromBinary(subscription.schema, message.data);
  } catch (error) {
    return fail("undecodable payload", error);
  }
  const eventId = (event as { eventId?: string }).eventId ?? "";
  if (!/^[0-9a-f-]{36}$/i.test(eventId)) return fail(`invalid event id "${eventId}"`);
  if (deliveryCount > maxAttempts) return fail(`delivered ${deliveryCount} times without completing`);

  const context: EventContext = {
    eventId,
    subject: message.subject,
    deliveryCount,
    transaction: (work) =>
      withTx(options.pool, async (tx) => {
        const claimed = await tx.query(
          "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
          [options.name, eventId],
        );
        return claimed.rowCount === 0 ? undefined : work(tx);
      }),
  };
  try {
    await subscription.handle(event, context);
    message.ack();
  } catch (error) {
    if (error instanceof PermanentEventError || deliveryCount >= maxAttempts) {
      return fail(error instanceof Error ? error.message : String(error), error);
    }
    const delays = options.retryDelaysMs ?? [100, 500, 2_000, 5_000];
    const delay = delays[Math.min(deliveryCount - 1, delays.length - 1)] ?? 1_000;
    logger.warn({ err: error, subject: message.subject, eventId, deliveryCount, retryInMs: delay }, "event failed");
    message.nak(delay);
  }
}

function keyOf(message: JsMsg): string {
  return message.headers?.get("Shopmesh-Key") || String(message.seq);
}
