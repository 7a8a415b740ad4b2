import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import type { JsMsg } from "@nats-io/jetstream";
import { context } from "@opentelemetry/api";
import { isDatabaseDown, isDatabaseUnavailable, isDatabaseUnreachable, statement, withTx } from "@shopmesh/pg";
import { type ProcessOutcome, startProcess, startSharedWork, type TracedProcess } from "@shopmesh/telemetry";
import type pg from "pg";
import { createAttemptCounter } from "./attempt-counter.js";
import type { ConsumerOptions, DeliveryInfo, EventContext, EventSubscription } from "./consumer.js";
import { type DeadLetterCause, deadLetter, originalMessageIdHeader, replayForHeader } from "./dead-letter.js";
import { createKeyedQueue } from "./keyed-queue.js";
import { PermanentEventError } from "./permanent-event-error.js";
import { defaultRetryDelaysMs, longestRetryDelayMs } from "./retry-delays.js";

/** A message decoded and matched to its subscription. */
interface Delivery extends DeliveryInfo {
  readonly message: JsMsg;
  /** The order (or, failing that, the message) the event belongs to: batches are ordered and split by it. */
  readonly key: string;
  /** The order the event is about: its Shopmesh-Key header, else the event's own orderId. */
  readonly orderId?: string;
  /** The event's consumer span, a child of its producer span. */
  readonly traced: TracedProcess;
  readonly event: MessageShape<DescMessage>;
  readonly subscription: EventSubscription;
}

/** Thrown inside a batch's transaction when its inbox claim finds an event applied before. */
class AppliedBefore extends Error {}

/** Applies batches of messages for one consumer. */
export interface Deliveries {
  /**
   * Applies a batch: transactional events together, others concurrently (not awaited),
   * each as a slot frees up — unless `admitting` says no by then (the replica is
   * stopping and its drain is over): that event is handed back for another replica.
   */
  process(messages: readonly JsMsg[], admitting?: () => boolean): Promise<void>;
  /** Resolves when no event is being handled. */
  idle(): Promise<void>;
  /**
   * Whether an event failed because the database was down or could not be reached
   * (isDatabaseDown) since this was last asked: the consumer then stops pulling until
   * the database answers.
   */
  takeDatabaseDown(): boolean;
}

const claimInbox = statement(
  "events.inbox-claim",
  "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
);
const claimInboxBatch = statement<{ event_id: string }>(
  "events.inbox-claim-batch",
  "INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id",
);

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The delivery logic of a consumer: decoding, inbox transactions, acks, retries, dead letters. */
export function createDeliveries(
  options: ConsumerOptions & { maxAttempts: number; maxDeliveries: number },
): Deliveries {
  const handlers = new Map(options.subscriptions.map((subscription) => [subscription.schema.typeName, subscription]));
  const ignored = new Set((options.ignores ?? []).map(({ typeName }) => typeName));
  const attemptCounter = createAttemptCounter();
  const longestRetryDelay = longestRetryDelayMs(options.retryDelaysMs);
  const queue = createKeyedQueue(options.concurrency ?? 32);
  const claimOne = (tx: pg.ClientBase, eventId: string) => claimInbox(tx, [options.name, eventId]);
  let databaseDown = false;

  /**
   * Dead-letters a message and ends its consumer span: dead_lettered once the copy is
   * written, retried when it could not be (the message was nak'ed and comes back).
   */
  const fail = async (message: JsMsg, traced: TracedProcess, cause: DeadLetterCause) => {
    const copied = await deadLetter(options, message, cause);
    traced.end(copied ? "dead_lettered" : "retried", cause.error ?? cause.reason);
  };

  /** A delivery whose handler failed, in its consumer span: retried later, or dead-lettered. */
  const failed = async (delivery: Delivery, error: unknown) => {
    // An unavailable database (restarting, saturated) or another dependency's failure
    // says nothing of the event: such failures are retried without counting towards
    // maxAttempts, up to maxDeliveries.
    const counted = !isDatabaseUnavailable(error) && !options.isDependencyFailure?.(error);
    if (isDatabaseDown(error)) databaseDown = true;
    const attempts = counted ? attemptCounter.failed(delivery.eventId) : 0;
    if (error instanceof PermanentEventError || attempts >= options.maxAttempts) {
      attemptCounter.forget(delivery.eventId);
      const reason = error instanceof Error ? error.message : String(error);
      return fail(delivery.message, delivery.traced, { reason, error, orderId: delivery.orderId });
    }
    const delays = options.retryDelaysMs ?? defaultRetryDelaysMs;
    const delay = delays[Math.min(delivery.deliveryCount - 1, delays.length - 1)] ?? 1_000;
    options.logger.warn(
      {
        err: error,
        orderId: delivery.orderId,
        subject: delivery.subject,
        eventId: delivery.eventId,
        deliveryCount: delivery.deliveryCount,
        retryInMs: delay,
      },
      "event failed",
    );
    delivery.message.nak(delay);
    delivery.traced.end("retried", error);
  };

  const decode = async (message: JsMsg): Promise<Delivery | undefined> => {
    const deliveryCount = message.info.deliveryCount;
    const header = (name: string) => message.headers?.get(name) || undefined;
    const traced = startProcess({
      consumer: options.name,
      subject: message.subject,
      // The producer's id of the message, as on its publish span: the outbox id that
      // outbox:republish takes (the relay's Nats-Msg-Id).
      // A replayed dead letter carries it in Shopmesh-Original-Msg-Id (see deadLetter).
      messageId: header(originalMessageIdHeader) ?? header("Nats-Msg-Id") ?? String(message.seq),
      eventId: header("Shopmesh-Event-Id"),
      eventType: header("Shopmesh-Event-Type") ?? "",
      orderId: header("Shopmesh-Key"),
      deliveryCount,
      header,
    });
    /** Dead-letters a message that is no event this consumer can apply, logging in its span. */
    const reject = (cause: DeadLetterCause) =>
      context.with(traced.context, async () => {
        await fail(message, traced, cause);
        return undefined;
      });
    // A replay of another consumer's dead letter: this one had the event from its stream.
    const replayFor = header(replayForHeader);
    if (replayFor !== undefined && replayFor !== options.name) {
      message.ack();
      traced.end("ignored");
      return undefined;
    }
    const schema = options.catalog.schemaForSubject(message.subject);
    const subscription = schema && handlers.get(schema.typeName);
    if (!subscription) {
      if (schema && ignored.has(schema.typeName)) {
        message.ack();
        traced.end("ignored");
        return undefined;
      }
      // A type this version does not know: a newer replica, rolling out beside this
      // one, may. Hand it back for that replica; if none takes it, park it.
      if (deliveryCount > options.maxDeliveries) {
        return reject({ reason: `no handler for ${message.subject} in this version`, orderId: traced.orderId });
      }
      context.with(traced.context, () =>
        options.logger.warn({ subject: message.subject, deliveryCount }, "event of an unknown type handed back"),
      );
      message.nak(longestRetryDelay);
      traced.end("retried");
      return undefined;
    }
    let event: MessageShape<DescMessage>;
    try {
      event = fromBinary(subscription.schema, message.data);
    } catch (error) {
      return reject({ reason: "undecodable payload", error, orderId: traced.orderId });
    }
    const { eventId = "", orderId: eventOrderId } = event as { eventId?: string; orderId?: string };
    const orderId = traced.orderId ?? (eventOrderId || undefined);
    if (!uuid.test(eventId)) return reject({ reason: `invalid event id "${eventId}"`, orderId });
    if (deliveryCount > options.maxDeliveries) {
      return reject({ reason: `delivered ${deliveryCount} times without completing`, orderId });
    }
    const key = traced.orderId ?? String(message.seq);
    return { message, key, orderId, traced, event, subscription, eventId, subject: message.subject, deliveryCount };
  };

  /** Consecutive events of one subscription, through its batch or per-event handler. */
  const applyRun = async (run: readonly Delivery[], tx: pg.PoolClient) => {
    const subscription = run[0]?.subscription;
    if (subscription && "applyAll" in subscription) {
      await subscription.applyAll(
        run.map(({ event, eventId, subject, deliveryCount }) => ({
          event,
          delivery: { eventId, subject, deliveryCount },
        })),
        tx,
      );
    } else if (subscription && "apply" in subscription) {
      for (const delivery of run) await subscription.apply(delivery.event, tx, delivery);
    }
  };

  /** One event in its own transaction (or its own handler), acked or failed alone. */
  const applyOne = (delivery: Delivery) =>
    context.with(delivery.traced.context, async () => {
      const { subscription } = delivery;
      let outcome: ProcessOutcome = "applied";
      const claim = async (tx: pg.PoolClient) => {
        const claimed = await claimOne(tx, delivery.eventId);
        if (claimed.rowCount === 0) outcome = "duplicate";
        return claimed.rowCount !== 0;
      };
      try {
        if (!("handle" in subscription)) {
          await withTx(options.pool, async (tx) => {
            if (await claim(tx)) await applyRun([delivery], tx);
          });
        } else {
          const eventContext: EventContext = {
            ...delivery,
            transaction: (work) => withTx(options.pool, async (tx) => ((await claim(tx)) ? work(tx) : undefined)),
          };
          await subscription.handle(delivery.event, eventContext);
        }
        attemptCounter.forget(delivery.eventId);
        delivery.message.ack();
        delivery.traced.end(outcome);
      } catch (error) {
        await failed(delivery, error);
      }
    });

  /**
   * Transactional events of a batch in one transaction; one by one, in arrival order, if that fails.
   * Each run is applied in key (order id) order, stable within a key: a handler then
   * takes its row locks in the same order in every batch of every consumer, so two
   * consumers touching the same orders wait for each other instead of deadlocking.
   * (A later wave only revisits keys the first one locked. Where two handlers of a
   * batch lock shared rows — inventory's products — the service serialises them with
   * a lock taken first.)
   *
   * The inbox rows are claimed without waiting for the answer: the claim travels with
   * the handlers' first statement (see withTx), one round trip fewer per batch. Its
   * answer is checked before COMMIT, and before a handler's failure is taken as the
   * event's: an event applied before (a redelivery, rare) rolls the whole attempt back
   * and the batch is applied one by one, each event's inbox row claimed first.
   */
  const applyTogether = async (unsorted: readonly Delivery[]) => {
    const batch = [...unsorted].sort((a, b) => compare(a.key, b.key));
    const [single] = batch.length === 1 ? batch : [];
    const started = performance.now();
    const shared = single
      ? undefined
      : startSharedWork(
          `apply ${batch.length} events`,
          batch.map((delivery) => delivery.traced),
          { "messaging.batch.message_count": batch.length, "messaging.consumer.group.name": options.name },
        );
    // Set by the attempt that found an event applied before: withTx throws the first
    // failed statement's error (a handler's, then), not the AppliedBefore that rolled
    // the attempt back.
    let appliedBefore = false;
    try {
      await context.with(shared?.context ?? single?.traced.context ?? context.active(), () =>
        withTx(options.pool, async (tx) => {
          appliedBefore = false;
          const claimed = claimInboxBatch(tx, [options.name, batch.map((delivery) => delivery.eventId)]);
          claimed.catch(() => undefined); // awaited below, whatever the handlers do
          let failure: { error: unknown } | undefined;
          try {
            for (const run of runsOf(batch)) await applyRun(run, tx);
          } catch (error) {
            failure = { error };
          }
          // Answered before any handler's statement (it was sent first); a failed claim
          // aborted the transaction, and its error is the cause. An event applied before
          // explains a handler's failure too (its effect is already there): the batch is
          // then applied one by one, each event's inbox row claimed first.
          const { rows } = await claimed;
          appliedBefore = rows.length < batch.length;
          if (appliedBefore) throw new AppliedBefore();
          if (failure) throw failure.error;
        }),
      );
      shared?.span.end();
      for (const delivery of batch) {
        attemptCounter.forget(delivery.eventId);
        delivery.message.ack();
        delivery.traced.end("applied");
      }
      options.logger.debug(
        { consumer: options.name, events: batch.length, ms: performance.now() - started },
        "batch applied",
      );
    } catch (error) {
      // A single event that failed is retried or dead-lettered now, not applied again.
      if (single && !appliedBefore) return context.with(single.traced.context, () => failed(single, error));
      // Each event alone would meet the same unreachable database, a statement's timeout
      // each: the batch is retried later as it is (unavailability does not count as an
      // attempt). A lock not granted in time is one event's, and goes the one-by-one way.
      const unreachable = !appliedBefore && isDatabaseUnreachable(error);
      if (shared && !appliedBefore) {
        shared.span.recordException(error instanceof Error ? error : String(error));
        // In the batch's span, so that the line leads to the trace of the failed attempt.
        if (!unreachable) {
          context.with(shared.context, () =>
            options.logger.warn(
              { err: error, consumer: options.name, events: batch.length },
              "batch failed; applying one by one",
            ),
          );
        }
      }
      shared?.span.end();
      // In the order the events arrived (stream order), not the key order the batch was
      // locked in: one event per transaction takes no locks another waits on, and a
      // handler that serves events in their order (inventory gives scarce stock to the
      // orders placed first) must get them so when the batch fails, too.
      for (const delivery of unsorted) {
        await (unreachable ? context.with(delivery.traced.context, () => failed(delivery, error)) : applyOne(delivery));
      }
    }
  };

  return {
    async process(messages, admitting = () => true) {
      const decoded = (await Promise.all(messages.map(decode))).filter((d): d is Delivery => d !== undefined);
      const together = decoded.filter((delivery) => !("handle" in delivery.subscription));
      for (const delivery of decoded) {
        if ("handle" in delivery.subscription) {
          await queue.push(delivery.key, async () => {
            if (admitting()) return applyOne(delivery);
            try {
              delivery.message.nak();
            } catch {
              // The connection is closed: it comes back to a replica after the ack wait.
            }
            delivery.traced.end("retried");
          });
        }
      }
      if (together.length > 0) await applyTogether(together);
    },
    idle: () => queue.idle(),
    takeDatabaseDown() {
      const down = databaseDown;
      databaseDown = false;
      return down;
    },
  };
}

/**
 * A batch (in key order) as runs, each applied by one handler call: events of one key
 * stay in their order (a key's second event waits for the next wave), and the events
 * of a wave that share a handler form one run, whatever their order in the batch — so
 * inventory's reservations and sales of a batch are two runs, not one per alternation.
 * Subscriptions of several event types that share one batch handler (the order
 * service's saga outcomes) share runs too.
 */
export function* runsOf<D extends Pick<Delivery, "key" | "subscription">>(deliveries: readonly D[]): Generator<D[]> {
  const handlerOf = (subscription: EventSubscription) =>
    "applyAll" in subscription ? subscription.applyAll : subscription;
  let pending = deliveries;
  while (pending.length > 0) {
    const keys = new Set<string>();
    const runs = new Map<unknown, D[]>();
    const later: D[] = [];
    for (const delivery of pending) {
      const { key } = delivery;
      if (keys.has(key)) {
        later.push(delivery);
        continue;
      }
      keys.add(key);
      const handler = handlerOf(delivery.subscription);
      const run = runs.get(handler);
      if (run) run.push(delivery);
      else runs.set(handler, [delivery]);
    }
    yield* runs.values();
    pending = later;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
