import {
  DiscardPolicy,
  JetStreamApiCodes,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { retryDeclaration, unlessNotFound } from "./declaration-retry.js";
import type { EventCatalog } from "./event-catalog.js";

const day = 24 * 60 * 60 * 1000;

/** How long the event streams keep an event by default: how far behind a consumer may fall. */
export const eventMaxAgeDays = 7;
/** How long the dead-letter stream keeps a letter by default, and replay accepts one. */
export const deadLetterMaxAgeDays = 30;

/** Retention and replication of the event streams. */
export interface StreamOptions {
  /** Replicas per stream: 1 on a single server, 3 on a JetStream cluster. */
  readonly replicas?: number;
  /** How long events are kept (default 7 days); the outbox keeps them longer. */
  readonly maxAgeMs?: number;
  /** How long dead letters are kept (default 30 days). */
  readonly deadLetterMaxAgeMs?: number;
}

/**
 * Declares the event streams of the catalog and the dead-letter stream: created when
 * missing, updated to this configuration when present. Limits retention, so each
 * service keeps its own durable consumer on a stream; file storage; a 2-minute
 * duplicate window for `Nats-Msg-Id` deduplication.
 */
export async function ensureStreams(jsm: JetStreamManager, catalog: EventCatalog, options: StreamOptions = {}) {
  const common: Partial<StreamConfig> = {
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: options.replicas ?? 1,
    duplicate_window: nanos(2 * 60 * 1000),
  };
  const streams = catalog.streams().map(({ name, subjects }) => ({
    ...common,
    name,
    subjects: [subjects],
    max_age: nanos(options.maxAgeMs ?? eventMaxAgeDays * day),
  }));
  streams.push({
    ...common,
    name: catalog.deadLetterStream,
    subjects: [catalog.deadLetterSubject(">")],
    max_age: nanos(options.deadLetterMaxAgeMs ?? deadLetterMaxAgeDays * day),
  });
  for (const config of streams) await declareStream(jsm, config);
}

/** Creates or updates one stream, again while a cluster cannot answer (see retryDeclaration). */
async function declareStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }) {
  await retryDeclaration(async () => {
    const existing = await unlessNotFound(jsm.streams.info(config.name), JetStreamApiCodes.StreamNotFound);
    if (existing) await jsm.streams.update(config.name, config);
    else await jsm.streams.add(config);
  });
}
