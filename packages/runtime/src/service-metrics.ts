import type { JetStreamManager } from "@nats-io/jetstream";
import type { BatchObservableResult } from "@opentelemetry/api";
import { outboxBacklog } from "@shopmesh/events";
import { within } from "@shopmesh/server";
import { createMeter } from "@shopmesh/telemetry";
import type pg from "pg";
import type { Logger } from "pino";

/** What a service's health gauges read, at each scrape. */
export interface ObservedService {
  readonly pools: Readonly<Record<string, pg.Pool>>;
  /** The pool the outbox backlog is counted with. */
  readonly outboxPool: pg.Pool;
  readonly jsm: JetStreamManager;
  /** Durable consumers: stream name and consumer name. */
  readonly consumers: readonly { readonly stream: string; readonly name: string }[];
  readonly logger: Logger;
}

/**
 * Gauges read when metrics are collected, not kept up to date on the hot path: pool
 * connections in use, idle and waited for; outbox rows not yet published and the age
 * of the oldest; each consumer's pending (not yet delivered) and ack-pending
 * (delivered, not yet acknowledged) messages. Returns a function that stops them.
 */
export function observeService(service: ObservedService): () => void {
  const meter = createMeter();
  // Not the semantic-convention names: the pg instrumentation already uses those,
  // for one pool it cannot name.
  const connections = meter.createObservableGauge("shopmesh.db.pool.connections", {
    description: "Connections of each database pool by state (used, idle)",
  });
  const waiting = meter.createObservableGauge("shopmesh.db.pool.waiting", {
    description: "Queries waiting for a connection of each database pool",
  });
  const backlog = meter.createObservableGauge("shopmesh.outbox.backlog", {
    description: "Outbox rows not yet published",
  });
  const oldest = meter.createObservableGauge("shopmesh.outbox.oldest.age", {
    description: "Age of the oldest unpublished outbox row",
    unit: "ms",
  });
  const pending = meter.createObservableGauge("shopmesh.consumer.pending", {
    description: "Messages in the stream the consumer has not been delivered yet (lag)",
  });
  const ackPending = meter.createObservableGauge("shopmesh.consumer.ack_pending", {
    description: "Messages delivered to the consumer and not yet acknowledged",
  });
  const observables = [connections, waiting, backlog, oldest, pending, ackPending];
  const callback = async (result: BatchObservableResult) => {
    for (const [name, pool] of Object.entries(service.pools)) {
      const poolName = { pool: name };
      result.observe(connections, pool.totalCount - pool.idleCount, { ...poolName, state: "used" });
      result.observe(connections, pool.idleCount, { ...poolName, state: "idle" });
      result.observe(waiting, pool.waitingCount, poolName);
    }
    const unreadable = (error: unknown) => {
      service.logger.debug({ err: error }, "a gauge could not be read");
      return undefined;
    };
    // Bounded: the exporter waits for every callback, so one read never answered (a
    // database or NATS that stopped answering; statement_timeout is the server's) would
    // time out the whole scrape, and the service would look down.
    const read = <T>(work: Promise<T>) =>
      within(work, gaugeReadMs, () => new Error(`gauge read took over ${gaugeReadMs} ms`)).catch(unreadable);
    const [outbox, ...consumers] = await Promise.all([
      read(outboxBacklog(service.outboxPool)),
      ...service.consumers.map(({ stream, name }) => read(service.jsm.consumers.info(stream, name))),
    ]);
    if (outbox) {
      result.observe(backlog, outbox.rows);
      result.observe(oldest, outbox.oldestMs);
    }
    consumers.forEach((info, index) => {
      const consumer = service.consumers[index];
      if (!consumer || !info) return;
      const attributes = {
        "messaging.consumer.group.name": consumer.name,
        "messaging.destination.name": consumer.stream,
      };
      result.observe(pending, info.num_pending, attributes);
      result.observe(ackPending, info.num_ack_pending, attributes);
    });
  };
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}

/** Longest a gauge read may take: well inside Prometheus's default 10 s scrape timeout. */
const gaugeReadMs = 2_000;
