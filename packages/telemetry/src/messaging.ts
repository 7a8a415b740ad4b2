import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  type Link,
  metrics,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { recordGetter, recordSetter } from "./header-carrier.js";
import { durationBucketsMs } from "./metrics.js";

const tracer = trace.getTracer("@shopmesh/telemetry");
const meter = metrics.getMeter("@shopmesh/telemetry");
const publishDelay = meter.createHistogram("shopmesh.outbox.publish.delay", {
  description: "Time from an outbox row's insert to its publish being acknowledged by JetStream",
  unit: "ms",
  advice: { explicitBucketBoundaries: [...durationBucketsMs, 10240] },
});
const processDuration = meter.createHistogram("shopmesh.consumer.process.duration", {
  description: "Time from pulling an event to acknowledging (or failing) it",
  unit: "ms",
  advice: { explicitBucketBoundaries: durationBucketsMs },
});
const processed = meter.createCounter("shopmesh.consumer.events", {
  description: "Events a consumer finished with, by outcome: applied, duplicate, retried, dead_lettered, ignored",
});
const redelivered = meter.createCounter("shopmesh.consumer.redeliveries", {
  description: "Deliveries of an event after its first",
});
const stallsBegun = meter.createCounter("shopmesh.consumer.stalls", {
  description:
    "Times a replica's batch ran for over two thirds of the ack wait: the replica stopped pulling and handed its queued events back",
});
const stalledNow = meter.createUpDownCounter("shopmesh.consumer.stalled", {
  description: "Replicas whose stalled batch (over two thirds of the ack wait) has not finished: they are not pulling",
});

/** In work shared by several events: each event's context by its order id. */
const contextsByOrder = createContextKey("shopmesh.contexts-by-order");

/**
 * The trace context to store with an outbox row in the business transaction, as
 * headers: the event's producer span will be its child. That is the active span's,
 * except in work shared by a batch of events, where an event about an order continues
 * the trace of the batch's event about that order.
 */
export function traceContextHeaders(orderId?: string): Record<string, string> {
  const active = context.active();
  const byOrder = active.getValue(contextsByOrder) as Map<string, Context> | undefined;
  const headers: Record<string, string> = {};
  propagation.inject((orderId && byOrder?.get(orderId)) || active, headers, recordSetter);
  return headers;
}

/** Where an event goes, for messaging spans. */
export interface MessageRoute {
  readonly subject: string;
  /** The outbox id (`Nats-Msg-Id`): what `npm run outbox:republish` takes. */
  readonly messageId: string;
  /** The event's own id (`Shopmesh-Event-Id`, the consumers' inbox key), where known. */
  readonly eventId?: string;
  readonly eventType: string;
  /** The order the event is about, so a search by order id finds the trace. */
  readonly orderId?: string;
}

/** A publish being traced. */
export interface TracedPublish {
  /** The row's headers with the producer span's trace context in place of the writer's. */
  readonly headers: Record<string, string>;
  /** Ends the span; `duplicate` when JetStream dropped the publish as a repeat (not a new event). */
  end(error?: unknown, duplicate?: boolean): void;
}

/**
 * Starts the producer span of a relayed outbox row: a child of the span that wrote
 * the row (restored from the row's headers), carried on in the message's headers.
 */
export function startPublish(route: MessageRoute, rowHeaders: Record<string, string>, insertedAt: Date): TracedPublish {
  const parent = propagation.extract(ROOT_CONTEXT, rowHeaders, recordGetter);
  const span = tracer.startSpan(
    `publish ${route.subject}`,
    { kind: SpanKind.PRODUCER, attributes: { ...messagingAttributes(route), "messaging.operation.type": "send" } },
    parent,
  );
  const headers = { ...rowHeaders };
  propagation.inject(trace.setSpan(parent, span), headers, recordSetter);
  return {
    headers,
    end(error, duplicate = false) {
      if (error !== undefined) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
      } else if (duplicate) {
        span.setAttribute("shopmesh.publish.duplicate", true);
      } else {
        // Not below zero: a row polled from the table carries PostgreSQL's time, and a
        // wall clock set back between its insert and now would make it so.
        const delayMs = Math.max(0, Date.now() - insertedAt.getTime());
        publishDelay.record(delayMs, { "messaging.destination.name": route.subject });
      }
      span.end();
    },
  };
}

/**
 * Starts a consumer's counts of dead letters, retries and redeliveries at zero for each
 * subject it handles: a counter series that first appears at 1 is invisible to PromQL's
 * increase(), and the first dead letter is the one an alert must not miss.
 */
export function declareConsumer(consumer: string, subjects: readonly string[]): void {
  for (const subject of subjects) {
    const attributes = { "messaging.consumer.group.name": consumer, "messaging.destination.name": subject };
    for (const outcome of ["dead_lettered", "retried"] satisfies ProcessOutcome[]) {
      processed.add(0, { ...attributes, "shopmesh.consumer.outcome": outcome });
    }
    redelivered.add(0, attributes);
  }
}

/** A consumer replica's stalls, counted (see createBatchLoop in @shopmesh/events). */
export interface ConsumerStalls {
  /** A batch has run past the stall point: the replica stops pulling. */
  began(): void;
  /** The stalled batch finished: the replica pulls again. */
  ended(): void;
}

/**
 * Counts a consumer's stalls, from zero (as declareConsumer does, so the first stall
 * shows in increase()). Several replicas in a process (tests) add up.
 */
export function consumerStalls(consumer: string): ConsumerStalls {
  const attributes = { "messaging.consumer.group.name": consumer };
  stallsBegun.add(0, attributes);
  stalledNow.add(0, attributes);
  return {
    began() {
      stallsBegun.add(1, attributes);
      stalledNow.add(1, attributes);
    },
    ended() {
      stalledNow.add(-1, attributes);
    },
  };
}

/** How a consumer finished with an event. */
export type ProcessOutcome = "applied" | "duplicate" | "retried" | "dead_lettered" | "ignored";

/** An event being processed. */
export interface TracedProcess {
  /** The context to apply the event in (its SQL spans become children). */
  readonly context: Context;
  /** The order the event is about. */
  readonly orderId?: string;
  readonly span: Span;
  end(outcome: ProcessOutcome, error?: unknown): void;
}

/** A delivery of an event to a consumer. */
export interface Delivered extends MessageRoute {
  readonly consumer: string;
  readonly deliveryCount: number;
  /** Reads a message header (the trace context the relay put there). */
  header(name: string): string | undefined;
}

/**
 * Starts the consumer span of an event: a child of its producer span, so the
 * checkout's hops across services stay one trace. Also counts the delivery.
 */
export function startProcess(delivered: Delivered): TracedProcess {
  const parent = propagation.extract(ROOT_CONTEXT, delivered, {
    get: (carrier, key) => carrier.header(key),
    keys: () => [],
  });
  const consumerAttributes = {
    "messaging.consumer.group.name": delivered.consumer,
    "messaging.destination.name": delivered.subject,
  };
  const span = tracer.startSpan(
    `process ${delivered.subject}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...messagingAttributes(delivered),
        ...consumerAttributes,
        "messaging.operation.type": "process",
        "messaging.nats.delivery_count": delivered.deliveryCount,
      },
    },
    parent,
  );
  if (delivered.deliveryCount > 1) redelivered.add(1, consumerAttributes);
  const started = performance.now();
  return {
    context: trace.setSpan(parent, span),
    orderId: delivered.orderId,
    span,
    end(outcome, error) {
      span.setAttribute("shopmesh.consumer.outcome", outcome);
      if (error !== undefined) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
      const attributes = { ...consumerAttributes, "shopmesh.consumer.outcome": outcome };
      processed.add(1, attributes);
      processDuration.record(performance.now() - started, attributes);
    },
  };
}

/**
 * A span for work several events share (one transaction for a batch): a child of
 * the first event whose trace is recorded (as runForCallers does for shared calls),
 * linked to the other recorded ones and they to it, so the batch's SQL shows in that
 * trace and every other sampled trace points at it. With parent-based sampling an
 * unsampled first event would otherwise drop the batch's span and SQL from every
 * trace and leave the others' links pointing at nothing; links to events whose traces
 * are not kept would point at nothing too, and are left out. Events the work writes
 * about an order continue that order's trace (see traceContextHeaders).
 */
export function startSharedWork(name: string, processes: readonly TracedProcess[], attributes: Attributes = {}) {
  const first = processes.find((process) => process.span.isRecording()) ?? processes[0];
  const others = processes.filter((process) => process !== first && process.span.isRecording());
  const links: Link[] = others.map((other) => ({ context: other.span.spanContext() }));
  const parent = first?.context ?? context.active();
  const span = tracer.startSpan(name, { attributes, links }, parent);
  for (const other of others) other.span.addLink({ context: span.spanContext() });
  const byOrder = new Map<string, Context>();
  for (const process of processes)
    if (process.orderId && !byOrder.has(process.orderId)) byOrder.set(process.orderId, process.context);
  return { context: trace.setSpan(parent, span).setValue(contextsByOrder, byOrder), span };
}

function messagingAttributes(route: MessageRoute): Attributes {
  return {
    "messaging.system": "nats",
    "messaging.destination.name": route.subject,
    "messaging.message.id": route.messageId,
    ...(route.eventId ? { "shopmesh.event.id": route.eventId } : {}),
    "shopmesh.event.type": route.eventType,
    ...(route.orderId ? { "shopmesh.order.id": route.orderId } : {}),
  };
}
