import { setTimeout as sleep } from "node:timers/promises";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import {
  ClosedConnectionError,
  DrainingConnectionError,
  deadline,
  nanos,
  type Subscription,
} from "@nats-io/transport-node";
import { consumerStalls, declareConsumer } from "@shopmesh/telemetry";
import type pg from "pg";
import type { Logger } from "pino";
import { waitForDatabase } from "./database-wait.js";
import { createDeliveries } from "./deliveries.js";
import { declareDurable, keepDurableSettings } from "./durable-settings.js";
import type { EventCatalog } from "./event-catalog.js";
import { defaultRetryDelaysMs } from "./retry-delays.js";

/** What a handler knows about the delivery it handles. */
export interface DeliveryInfo {
  readonly eventId: string;
  readonly subject: string;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
}

/** What a handler that manages its own transactions gets. */
export interface EventContext extends DeliveryInfo {
  /**
   * Runs `work` in a transaction that first records the event in this consumer's
   * inbox. If the event was already applied it does nothing and answers undefined:
   * the effect and the inbox row commit together, so a redelivery is a no-op.
   */
  transaction<T>(work: (tx: pg.PoolClient) => Promise<T>): Promise<T | undefined>;
}

/** Applies one event type, managing its own transactions (e.g. to call out between them). */
export type EventHandler<Desc extends DescMessage> = (
  event: MessageShape<Desc>,
  context: EventContext,
) => Promise<void>;

/**
 * Applies one event type entirely inside the transaction it is given, which the
 * consumer shares with other events of a batch and with their inbox rows.
 */
export type TransactionalHandler<Desc extends DescMessage> = (
  event: MessageShape<Desc>,
  tx: pg.PoolClient,
  delivery: DeliveryInfo,
) => Promise<void>;

/** One event of a batch with its delivery. */
export interface BatchedEvent<Desc extends DescMessage> {
  readonly event: MessageShape<Desc>;
  readonly delivery: DeliveryInfo;
}

/**
 * Applies consecutive events of one type together inside the given transaction —
 * set-based statements instead of a few per event.
 */
export type TransactionalBatchHandler<Desc extends DescMessage> = (
  events: readonly BatchedEvent<Desc>[],
  tx: pg.PoolClient,
) => Promise<void>;

/** An event type with its handler. */
export type EventSubscription =
  | { readonly schema: DescMessage; readonly handle: EventHandler<DescMessage> }
  | { readonly schema: DescMessage; readonly apply: TransactionalHandler<DescMessage> }
  | { readonly schema: DescMessage; readonly applyAll: TransactionalBatchHandler<DescMessage> };

/**
 * Pairs an event type with a handler that manages its own transactions through
 * `context.transaction` — for effects that must call out (a payment provider)
 * outside any transaction. Throwing retries the event later (or dead-letters it).
 */
export function on<Desc extends DescMessage>(schema: Desc, handle: EventHandler<Desc>): EventSubscription {
  return { schema, handle: handle as EventHandler<DescMessage> };
}

/**
 * Pairs an event type with a handler whose whole effect is database work in the
 * given transaction. The consumer applies the events it has at hand in one
 * transaction with one inbox insert (far fewer round trips under load); if that
 * transaction fails, it applies them one by one so only the culprit is retried or
 * dead-lettered — unless the database itself could not be reached, when the batch is
 * handed back whole to be tried again later.
 */
export function onTx<Desc extends DescMessage>(schema: Desc, apply: TransactionalHandler<Desc>): EventSubscription {
  return { schema, apply: apply as TransactionalHandler<DescMessage> };
}

/**
 * Like {@link onTx}, but the handler gets every consecutive event of its type in the
 * batch at once (in stream order, grouped by key), so it can lock, read and write
 * them with a few set-based statements. Pass one handler for several event types and
 * it gets the consecutive events of all of them together.
 */
export function onTxBatch<Desc extends DescMessage>(
  schema: Desc,
  applyAll: TransactionalBatchHandler<Desc>,
): EventSubscription {
  return { schema, applyAll: applyAll as TransactionalBatchHandler<DescMessage> };
}

/**
 * A service's durable consumer, shared by every replica: one JetStream consumer on
 * each stream its subscriptions' events travel on, all feeding one batch loop.
 */
export interface ConsumerOptions {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly pool: pg.Pool;
  readonly logger: Logger;
  readonly catalog: EventCatalog;
  /** The durable name on each stream, which is also the inbox's consumer key, such as "inventory". */
  readonly name: string;
  /** The events handled; their routes in the catalog say which streams are read. */
  readonly subscriptions: readonly EventSubscription[];
  /**
   * Event types of the streams read that this version deliberately leaves alone: they
   * are acked unapplied. Any other type a whole-stream consumer receives — one added by
   * a newer version of the contracts — is handed back (nak'ed) for a replica that knows
   * it, so a rolling update never drops it (docs/decisions/0005).
   */
  readonly ignores?: readonly DescMessage[];
  /**
   * Attempts before an event that keeps failing is dead-lettered (default 5): the failures
   * of its own it had in this replica (createAttemptCounter).
   */
  readonly maxAttempts?: number;
  /**
   * Deliveries before any event not yet done is dead-lettered (default 100): one whose
   * handler failed only because a dependency was unavailable (not counted by
   * maxAttempts), or was never answered (a crash, a handler past `ackWaitMs`). A
   * database that is down uses few: the consumer stops pulling until it answers.
   */
  readonly maxDeliveries?: number;
  /**
   * Failures that say nothing of the event, only of a dependency of its handler (a
   * payment provider timing out), besides an unavailable database, which always
   * counts as such: retried without counting towards maxAttempts, up to maxDeliveries.
   */
  readonly isDependencyFailure?: (error: unknown) => boolean;
  /**
   * Delay before each retry, and between the questions to a database that is down; the
   * last applies to any further one (default 100 ms … 5 s).
   */
  readonly retryDelaysMs?: readonly number[];
  /** Events handled at once (default 32); events of the same order never run together. */
  readonly concurrency?: number;
  /** How long the server waits for an ack before redelivering (default 30 s). */
  readonly ackWaitMs?: number;
  /** How often the durables' settings are checked for an older version's (default 60 s). */
  readonly settingsCheckMs?: number;
}

/** A JetStream durable consumer: its stream (namespaced) and name. */
export interface Durable {
  readonly stream: string;
  readonly name: string;
}

/** A running consumer. */
export interface RunningConsumer {
  /** The JetStream consumers it reads, for lag metrics. */
  readonly durables: readonly Durable[];
  /**
   * Stops pulling, applies the events in hand for a third of the ack wait at most,
   * hands back the rest for another replica, and returns.
   */
  stop(): Promise<void>;
}

/**
 * Declares a durable pull consumer (explicit acks, bounded deliveries) on every stream
 * the subscriptions read, and handles their events: decode, apply with the inbox in
 * the same transaction, ack after commit. Events that arrive while a batch is applied
 * form the next batch (no added wait), whichever stream they came from: the order
 * service's saga outcomes (INVENTORY and PAYMENTS) are applied together, in fewer
 * transactions and without two loops waiting on each other's order locks.
 * A failure is retried with `nak(delay)` (a database that is down: once it answers, the
 * pulls paused meanwhile); after maxAttempts (failures of an
 * unavailable database not counted, up to maxDeliveries), or at once for a
 * PermanentEventError or an undecodable message, the event is copied to the
 * dead-letter stream with the reason and terminated — never silently dropped: until
 * the copy is written, the event keeps coming back.
 */
export async function startConsumer(options: ConsumerOptions): Promise<RunningConsumer> {
  const maxAttempts = options.maxAttempts ?? 5;
  const ackWaitMs = options.ackWaitMs ?? 30_000;
  const concurrency = options.concurrency ?? 32;
  const filters = filterSubjects(options);
  requireDecisionForEveryType(options, filters);
  const durables = [...filters].map(([stream, filter_subject]) => ({
    stream,
    config: {
      durable_name: options.name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject,
      ack_wait: nanos(ackWaitMs),
      // Unbounded: the consumer bounds attempts itself and dead-letters the event, and
      // an event whose dead-letter copy could not be written must come back to be
      // copied again — a server-side bound would drop it silently.
      max_deliver: -1,
      max_ack_pending: Math.max(1000, concurrency * 4),
    },
  }));
  for (const durable of durables) {
    if (!(await declareDurable(options.jsm, durable))) {
      options.logger.warn({ stream: durable.stream, consumer: options.name }, "a newer version declared this consumer");
    }
  }
  const stopKeeping = keepDurableSettings(options.jsm, durables, options.logger, options.settingsCheckMs ?? 60_000);

  declareConsumer(
    options.name,
    options.subscriptions.map(({ schema }) => options.catalog.route(schema).subject),
  );
  const maxDeliveries = Math.max(options.maxDeliveries ?? 100, maxAttempts);
  const deliveries = createDeliveries({ ...options, maxAttempts, maxDeliveries });
  const stalls = consumerStalls(options.name);
  const batches = createBatchLoop({
    apply: (batch, admitting) => deliveries.process(batch, admitting),
    keepAliveMs: ackWaitMs / 3,
    drainMs: ackWaitMs / 3,
    onHandBack: (events) =>
      options.logger.warn({ consumer: options.name, events }, "stopping: events not applied in time handed back"),
    pause: () => {
      stalls.began();
      return pulls.pause();
    },
    onStall: (events) =>
      options.logger.warn(
        { consumer: options.name, handedBack: events },
        "a batch has run for over two thirds of the ack wait: pulling paused, queued events handed back",
      ),
    onRecover: () => {
      stalls.ended();
      options.logger.info({ consumer: options.name }, "the stalled batch finished: pulling again");
      pulls.resume();
    },
    databaseDown: () => deliveries.takeDatabaseDown(),
    pauseForDatabase: () => pulls.pause(),
    onDatabaseWait: (events) =>
      options.logger.warn(
        { consumer: options.name, handedBack: events },
        "the database is down or unreachable: pulling paused, queued events handed back until it answers",
      ),
    waitForDatabase: async (signal) => {
      await waitForDatabase(options.pool, options.retryDelaysMs ?? defaultRetryDelaysMs, signal);
      // Failures of events that began before the database answered (a per-event
      // handler's, still running) are not a new outage.
      deliveries.takeDatabaseDown();
    },
    resume: () => {
      options.logger.info({ consumer: options.name }, "the database answers again: pulling again");
      pulls.resume();
    },
  });
  const pulls = await startPulls(options, [...filters.keys()], concurrency, (message) => batches.push(message));
  pulls.closed.finally(() => batches.end());

  return {
    durables: [...filters.keys()].map((stream) => ({ stream, name: options.name })),
    async stop() {
      stopKeeping();
      await pulls.stop();
      batches.end();
      await batches.done;
      await deliveries.idle();
    },
  };
}

/** The pulls of a consumer from each of its streams, paused while its batch loop is stalled. */
interface Pulls {
  /**
   * Stops pulling (the deliveries on their way are still taken in), until resumed.
   * Resolves once the server has let go of this replica's pull requests: only then does
   * a message handed back go to another replica (see halt in startPulls).
   */
  pause(): Promise<void>;
  resume(): void;
  /** Stops pulling for good. */
  stop(): Promise<void>;
  /** Resolves when the pulls end other than by pause(): stop(), or nats.js giving up. */
  readonly closed: Promise<void>;
}

/**
 * Pulls from every stream into `receive`. A replica whose batch hangs (a statement on a
 * connection that stopped answering) must stop pulling: the messages it took would wait
 * behind that batch until their ack wait ran out, and a replica that went on pulling took
 * most of them back at each redelivery, so a healthy replica got them only slowly.
 */
async function startPulls(
  options: ConsumerOptions,
  streams: readonly string[],
  concurrency: number,
  receive: (message: JsMsg) => void,
): Promise<Pulls> {
  const consumers = await Promise.all(streams.map((stream) => options.js.consumers.get(stream, options.name)));
  let ended: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    ended = resolve;
  });
  /** The pulls running (or starting); undefined while paused or stopped. */
  let current: Promise<ConsumerMessages[]> | undefined;
  let state: "pulling" | "paused" | "stopped" = "pulling";
  /** Consumes from every stream; if one cannot, closes the others and fails. */
  const consumeAll = async () => {
    const settled = await Promise.allSettled(
      consumers.map(async (consumer) =>
        consumer.consume({
          max_messages: Math.max(concurrency * 2, batchLimit),
          expires: pullExpiresMs,
          // After a reconnect or missed heartbeats, pull again at once: without it nats.js
          // first asks for the consumer's info, a 5 s timeout and a pause per attempt while
          // a cluster elects leaders — ~10 s before a consumer pulled again once quorum was
          // back. A durable deleted meanwhile is declared again by keepDurableSettings.
          bind: true,
          // A callback, not the async iterator: the messages of one socket read join the
          // batch at once, without a generator step and its promises per message.
          callback: receive,
        }),
      ),
    );
    const started = settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
    const failure = settled.find((result) => result.status === "rejected");
    if (!failure) return started;
    await Promise.all(started.map(closeWithoutStranding));
    throw failure.reason;
  };
  const start = () => {
    const starting = consumeAll();
    current = starting;
    starting.then(
      // Pulls that end on their own (nats.js gave up) end the consumer, as stop() does.
      (sources) =>
        Promise.all(sources.map((messages) => messages.closed())).then(() => {
          if (current !== starting) return;
          state = "stopped";
          ended();
        }),
      () => {
        if (current === starting) current = undefined;
      },
    );
    return starting;
  };
  /**
   * Pulls again after a pause. Should that fail, a replica would hold no pull until it
   * restarted, applying nothing while looking alive: it tries again until it pulls, or
   * is paused or stopped meanwhile.
   */
  const pullAgain = async () => {
    for (let attempt = 1; state === "pulling" && current === undefined; attempt++) {
      try {
        await start();
      } catch (error) {
        // A connection closed for good (the process is stopping) takes no pull again: the
        // consumer ends, as when its pulls end on their own.
        if (error instanceof ClosedConnectionError || error instanceof DrainingConnectionError) {
          state = "stopped";
          ended();
          return;
        }
        options.logger.error({ consumer: options.name, err: error, attempt }, "pulling again failed; trying again");
        await sleep(Math.min(attempt, 5) * 1_000);
      }
    }
  };
  /**
   * Stops the pulls running, then asks for each consumer's info: nats-server 2.9 drops the
   * pull requests of an inbox nobody reads only when it next checks them (a heartbeat,
   * up to a second later, or such a request). Until then a message handed back (nak)
   * went straight back to this replica's pull while its subscription was still open, or,
   * once closed, waited out its ack wait — and the server delivered its last message
   * again as new (it steps its cursor back when a redelivery finds no pull to take it).
   */
  const halt = async () => {
    const running = current;
    current = undefined;
    if (!running) return;
    await Promise.all((await running).map(closeWithoutStranding));
    await Promise.all(
      consumers.map((consumer) => deadline(consumer.info(), subscriptionDrainMs).catch(() => undefined)),
    );
  };
  await start();
  /** The halts, one after another: stop() returns only once every pull it started is closed. */
  let halting = Promise.resolve();
  const haltInTurn = () => {
    halting = halting.then(halt).catch((error: unknown) => {
      options.logger.warn({ consumer: options.name, err: error }, "closing the pulls failed");
    });
    return halting;
  };
  return {
    pause() {
      if (state !== "pulling") return halting;
      state = "paused";
      return haltInTurn();
    },
    resume() {
      if (state !== "paused") return;
      state = "pulling";
      void halting.then(pullAgain);
    },
    async stop() {
      state = "stopped";
      await haltInTurn();
      ended();
    },
    closed,
  };
}

/**
 * Stops a consume without stranding the deliveries on their way. nats.js's close()
 * unsubscribes at once, and drops a message the server sent before it read the
 * unsubscription: that event then waits with this replica for the whole ack wait
 * (30 s) before another gets it — some orders of every rolling update. Draining the
 * subscription first (the unsubscription, then a round trip to the server) takes them
 * in, and the batch loop applies them before stop() returns.
 */
async function closeWithoutStranding(messages: ConsumerMessages): Promise<void> {
  const sub = subscriptionOf(messages);
  // A closed connection: nothing more can arrive. A silent network (a partition, a node
  // that stopped answering) would hold the drain until the client's pings fail, 30 s
  // measured, past the shutdown's budget; nothing arrives through it meanwhile either.
  if (sub) await deadline(sub.drain(), subscriptionDrainMs).catch(() => undefined);
  await messages.close();
}

/** How long a stopping consumer waits for the deliveries already on their way: a round trip, normally milliseconds. */
const subscriptionDrainMs = 1_000;

/** The subscription of a consume: nats.js keeps it as `sub`, public on its class though not on the type consume() answers. */
function subscriptionOf(messages: ConsumerMessages): Subscription | undefined {
  const sub = (messages as { sub?: Partial<Subscription> }).sub;
  return typeof sub?.drain === "function" ? (sub as Subscription) : undefined;
}

/** Hands messages back to the server for redelivery now, to whichever replica pulls next. */
function handBack(messages: readonly JsMsg[]): void {
  try {
    for (const message of messages) message.nak();
  } catch {
    // The connection is closed or draining: they come back to a replica after the ack wait.
  }
}

/**
 * The streams the subscriptions read (namespaced), each with the subjects the server
 * delivers from it: only the one subject when every subscription on that stream is
 * on it, else the whole stream (types it `ignores` are acked unapplied). A
 * consumer that wants one event of a busy stream then costs nothing for the others —
 * payment skips two ORDERS deliveries per checkout. nats-server 2.9 takes one filter
 * subject per consumer; 2.10's `filter_subjects` would narrow every one to exactly
 * its subjects.
 */
function filterSubjects({ catalog, subscriptions }: ConsumerOptions): Map<string, string> {
  const subjectsByStream = new Map<string, Set<string>>();
  for (const { schema } of subscriptions) {
    const route = catalog.route(schema);
    const subjects = subjectsByStream.get(route.stream) ?? new Set<string>();
    subjectsByStream.set(route.stream, subjects.add(route.subject));
  }
  const wholeStream = new Map(catalog.streams().map(({ name, subjects }) => [name, subjects]));
  return new Map(
    [...subjectsByStream].map(([stream, subjects]) => {
      const [only] = subjects;
      return [stream, subjects.size === 1 && only !== undefined ? only : (wholeStream.get(stream) ?? "")];
    }),
  );
}

/**
 * A consumer that reads a whole stream must say, for every event type the contracts put
 * on it, whether it handles or ignores it: a type left undecided would be handed back
 * at every delivery and end in the dead-letter stream. A programming error, so start-up fails.
 */
function requireDecisionForEveryType(options: ConsumerOptions, filters: ReadonlyMap<string, string>) {
  const { catalog, subscriptions, ignores = [] } = options;
  const decided = new Set([...subscriptions.map(({ schema }) => schema), ...ignores].map(({ typeName }) => typeName));
  const wholeStreams = new Set(
    catalog
      .streams()
      .filter(({ name, subjects }) => filters.get(name) === subjects)
      .map(({ name }) => name),
  );
  const undecided = catalog
    .routes()
    .filter(({ stream, schema }) => wholeStreams.has(stream) && !decided.has(schema.typeName))
    .map(({ schema }) => schema.typeName);
  if (undecided.length > 0) {
    throw new Error(
      `consumer "${options.name}" reads whole streams but neither handles nor ignores ${undecided.join(", ")}`,
    );
  }
}

/**
 * Events at most applied together. One loop per consumer: a batch is what arrived while
 * the previous one was applied, so under load batches grow and cost fewer statements
 * per event (four loops per consumer in the order service made batches smaller and
 * cost it ~20% of its throughput in the bench).
 */
const batchLimit = 32;

/**
 * How long one pull request waits on the server; while idle it asks for a heartbeat
 * every half of that, and nats.js pulls again once two are missed. A pull held by a
 * JetStream cluster node that crashed gets neither answer nor heartbeat: with nats.js's
 * default (30 s, heartbeats every 15 s) a consumer whose leader crashed stood still
 * for about 45 s; with 2 s it pulls again once the cluster has elected a new leader
 * (6–14 s in all on this machine, e2e/test/nats-cluster). Idle, it costs a pull every
 * 2 s and a heartbeat a second per consumer.
 */
const pullExpiresMs = 2_000;

/** What a batch loop does, and tells, besides applying batches. */
interface BatchLoopOptions {
  readonly apply: (batch: JsMsg[], admitting: () => boolean) => Promise<void>;
  /** How often queued messages are said to be in hand (a third of the ack wait). */
  readonly keepAliveMs: number;
  /** How long a stopping replica goes on applying its queue. */
  readonly drainMs: number;
  onHandBack(events: number): void;
  /**
   * A batch has run for two keep-alive periods, and the loop stalls: stop pulling.
   * Resolves once the server has let go of the pull requests. Called once per stall.
   */
  pause(): Promise<void>;
  /** A batch has run for two keep-alive periods: pulling paused, and `events` queued handed back. */
  onStall(events: number): void;
  /** The stalled batch finished: the stall is over (once for each `pause`). */
  onRecover(): void;
  /** Whether an event of the batches applied since last asked failed on a database down or cut off. */
  databaseDown(): boolean;
  /** Stops pulling until `resume`; resolves once the server has let go of the pull requests. */
  pauseForDatabase(): Promise<void>;
  /** Pulling paused and `events` queued handed back until the database answers. */
  onDatabaseWait(events: number): void;
  /** Resolves once the database answers, or when `signal` aborts (the replica stops). */
  waitForDatabase(signal: AbortSignal): Promise<void>;
  /** The database answers again: pull again. */
  resume(): void;
}

/**
 * A queue of messages applied batch after batch by one loop. nats.js pulls more as
 * messages arrive, not as they are applied, so a backlog can queue here up to the
 * consumer's max_ack_pending: every `keepAliveMs` (a third of the ack wait) the
 * queued messages tell the server they are in hand (`working()`), or those not reached
 * within the ack wait would be delivered again while their first copy still waits.
 *
 * A loop stuck in one batch for over two of those periods (seen at the next check, so
 * between two thirds and all of the ack wait: a query on a dead connection) is stalled:
 * it pauses the pulls (`pause`: what their subscriptions still take in joins the queue),
 * and once the server has let go of them hands its queue back (nak) and tells
 * (`onStall`); when the batch finishes, it tells (`onRecover`, which pulls again). Only
 * the stuck batch's own events wait out their ack wait.
 *
 * A batch that found the database down or cut off (an event failed so: the others
 * would too) pauses the pulls in the same way and hands back the queue, then waits for
 * the database to answer before pulling again. Retried every few seconds instead, each
 * event in flight used up its deliveries (maxDeliveries) in minutes of an outage and was
 * parked; paused, it is delivered about once per outage and replica. A saturated
 * database is not waited for so: it answers the events that get a connection, and the
 * others are retried as other failures are.
 *
 * Once ended (the replica stops), the queue is still applied, for `drainMs` at most:
 * what is left then is handed back at once (nak) for another replica — as is an event
 * of the batch in progress that has not started by then (`admitting`: a batch of
 * per-event handlers starts its events as slots free up). A replica whose database is
 * gone would otherwise spend a failed statement's timeout on every batch, and its
 * shutdown minutes or hours on a full queue.
 */
function createBatchLoop(options: BatchLoopOptions) {
  const { apply, keepAliveMs, drainMs } = options;
  const waiting: JsMsg[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let endedAt = 0;
  /** When the batch in progress started; undefined between batches. */
  let batchStartedAt: number | undefined;
  let stalled = false;
  let stalls = 0;
  const stopping = new AbortController();
  const admitting = () => !ended || performance.now() - endedAt <= drainMs;
  const waitForDatabase = async () => {
    await options.pauseForDatabase();
    const queued = waiting.splice(0);
    handBack(queued);
    options.onDatabaseWait(queued.length);
    await options.waitForDatabase(stopping.signal);
    if (!ended) options.resume();
  };
  const keepAlive = setInterval(() => {
    if (batchStartedAt !== undefined && performance.now() - batchStartedAt > keepAliveMs * 2) {
      if (!stalled) {
        stalled = true;
        const stall = ++stalls;
        // Handed back before the server let go of this replica's pulls, the events would
        // mostly come straight back to it (see halt in startPulls); those that arrive
        // meanwhile join the queue.
        void options.pause().then(() => {
          if (!stalled || stall !== stalls) return;
          const queued = waiting.splice(0);
          handBack(queued);
          options.onStall(queued.length);
        });
      }
      return;
    }
    try {
      for (const message of waiting) message.working();
    } catch {
      // The connection is closed: the messages come back to a replica after the ack wait.
    }
  }, keepAliveMs);
  keepAlive.unref();
  const done = (async () => {
    while (!ended || waiting.length > 0) {
      if (waiting.length === 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      if (!admitting()) {
        options.onHandBack(waiting.length);
        handBack(waiting.splice(0));
        break;
      }
      batchStartedAt = performance.now();
      await apply(waiting.splice(0, batchLimit), admitting);
      batchStartedAt = undefined;
      if (stalled) {
        stalled = false;
        options.onRecover();
      }
      if (options.databaseDown() && !ended) await waitForDatabase();
    }
  })().finally(() => clearInterval(keepAlive));
  return {
    push(message: JsMsg) {
      waiting.push(message);
      wake?.();
    },
    end() {
      if (ended) return;
      ended = true;
      endedAt = performance.now();
      stopping.abort();
      wake?.();
    },
    done,
  };
}
