import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, deadline, type NatsConnection } from "@nats-io/transport-node";
import { createAuthInterceptor, createTokenVerifier } from "@shopmesh/auth";
import { ConfigError, loadConfig, type z } from "@shopmesh/config";
import {
  allEvents,
  type ConsumerOptions,
  createEventCatalog,
  createOutbox,
  type EventCatalog,
  ensureStreams,
  type Outbox,
  type RunningConsumer,
  startConsumer,
  startEventPruner,
  startOutboxRelay,
  withoutCredentials,
} from "@shopmesh/events";
import { createPool, migrate } from "@shopmesh/pg";
import {
  createLogger,
  onShutdownSignal,
  type RunningServer,
  type ServiceRegistration,
  startServer,
} from "@shopmesh/server";
import { shutdownTelemetry, traceContextHeaders } from "@shopmesh/telemetry";
import type pg from "pg";
import type { Logger } from "pino";
import { connectionsPerReplica, relayPoolSize } from "./connections.js";
import { createDatabaseUnavailableInterceptor } from "./database-unavailable.js";
import { watchJetStream } from "./jetstream-watchdog.js";
import { migrationDirs } from "./migrate-service.js";
import { loadBoth, loadServiceConfig, type ServiceConfig, type ServiceDefaults } from "./service-config.js";
import { observeService } from "./service-metrics.js";

const day = 24 * 60 * 60 * 1000;

/** How often a replica prunes its service's outbox and inbox (see startEventPruner). */
const pruneEveryMs = 10 * 60 * 1000;

/** What the runtime hands a service to build itself from. */
export interface ServiceKit<Settings> {
  readonly config: ServiceConfig;
  /** The service's own variables. */
  readonly settings: Settings;
  readonly logger: Logger;
  /** The pool of RPC handlers. */
  readonly pool: pg.Pool;
  /** The pool of event handlers (consumers get theirs through their transactions). */
  readonly consumerPool: pg.Pool;
  readonly nats: NatsConnection;
  readonly js: JetStreamClient;
  readonly catalog: EventCatalog;
  readonly outbox: Outbox;
}

/** A consumer the service wants, without the plumbing the runtime supplies. */
export type ConsumerSpec = Omit<ConsumerOptions, "js" | "jsm" | "pool" | "logger" | "catalog">;

/** What a service is made of, returned by its build function. */
export interface ServiceParts {
  readonly services: readonly ServiceRegistration[];
  readonly consumers: readonly ConsumerSpec[];
  /** Closes what the service opened itself (clients, listeners), last. */
  readonly close?: () => Promise<void>;
}

/** A service: its name, defaults, migrations and how to build it. */
export interface ServiceDefinition<Extra extends z.ZodRawShape> {
  readonly name: string;
  readonly defaults: ServiceDefaults;
  /** The service's own variables, added to the common ones. */
  readonly config: Extra;
  /** The folder of the service's SQL migrations. */
  readonly migrations: URL;
  /**
   * Connections to PostgreSQL the service's own code holds open, outside the pools the
   * runtime gives it (order: the LISTEN connection of WatchOrder). Counted in
   * {@link connectionsPerReplica}, which deployments size `max_connections` by.
   */
  readonly ownConnections?: number;
  build(kit: ServiceKit<z.infer<z.ZodObject<Extra>>>): Promise<ServiceParts>;
}

/** A running service process. */
export interface RunningService {
  readonly name: string;
  readonly server: RunningServer;
  readonly logger: Logger;
  /**
   * Ordered shutdown: NOT_SERVING and drain RPCs, stop consumers, stop the relay, close
   * NATS and the pool. Every step runs; rejects when any failed.
   */
  close(): Promise<void>;
}

/**
 * Starts a service: validates its configuration, migrates its database, declares the
 * event streams, starts the outbox relay, serves its RPCs on both listeners, starts
 * its consumers and reports SERVING.
 *
 * ```ts
 * const service = await runService(inventoryService, process.env);
 * onShutdownSignal(service.logger, service.close);
 * ```
 */
export async function runService<Extra extends z.ZodRawShape>(
  definition: ServiceDefinition<Extra>,
  env: Record<string, string | undefined> = process.env,
): Promise<RunningService> {
  const [config, settings] = loadBoth(
    () => loadServiceConfig(definition.defaults, env),
    () => loadConfig(definition.config, env),
  );
  const logger = createLogger(definition.name, config.LOG_LEVEL);
  const closers: (() => Promise<unknown>)[] = [];
  // Every step runs, whatever failed before it; the failures are logged and answered.
  const closeAll = async () => {
    const failures: unknown[] = [];
    for (const close of closers.splice(0).reverse()) {
      await close().catch((error: unknown) => {
        failures.push(error);
        logger.error({ err: error }, "close failed");
      });
    }
    return failures;
  };
  try {
    await migrate({
      databaseUrl: config.DATABASE_URL,
      dir: migrationDirs(definition),
      log: (message) => logger.debug(message),
      warn: (message) => logger.warn(message),
    });
    // RPC handlers wait at most DB_ACQUIRE_TIMEOUT_MS for a connection, then answer
    // UNAVAILABLE: under overload new requests are refused quickly instead of queueing
    // until their deadline. Consumers have their own pool, so the checkout in progress
    // keeps moving however many requests wait.
    const pool = createPool({
      url: config.DATABASE_URL,
      applicationName: definition.name,
      max: config.DB_POOL_SIZE,
      acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS,
      onError: (error) => logger.warn({ err: error }, "idle database connection failed"),
    });
    closers.push(() => pool.end());
    const consumerPool = createPool({
      url: config.DATABASE_URL,
      applicationName: `${definition.name}-consumers`,
      max: config.DB_CONSUMER_POOL_SIZE,
      onError: (error) => logger.warn({ err: error }, "idle consumer database connection failed"),
    });
    closers.push(() => consumerPool.end());
    const servers = config.NATS_URL.split(",").map((server) => server.trim());
    const nats = await connect({
      servers,
      name: definition.name,
      maxReconnectAttempts: -1,
      // nats.js's default, a ping every 2 minutes, would leave a connection the network
      // silently stopped carrying in use for 4-6 minutes: no event in or out meanwhile.
      pingInterval: config.NATS_PING_INTERVAL_MS,
      maxPingOut: 2,
      // Otherwise every JetStream publish builds two Error objects with stack traces,
      // only to say where a request that times out was made: a measurable share of the
      // relay's CPU. The error's message and subject remain.
      noAsyncTraces: true,
    }).catch((error: unknown) => {
      // nats.js says only "timeout" of a server that accepts the connection and never answers.
      throw new Error(`NATS at ${servers.map(withoutCredentials).join(", ")} cannot be reached: ${String(error)}`, {
        cause: error,
      });
    });
    closers.push(() => drainWithin(nats, natsDrainMs));
    const js = jetstream(nats);
    const jsm: JetStreamManager = await jetstreamManager(nats);
    const stopWatching = watchJetStream(nats, jsm, logger);
    closers.push(async () => stopWatching());
    const catalog = createEventCatalog(allEvents, config.EVENT_NAMESPACE);
    await ensureStreams(jsm, catalog, {
      replicas: config.NATS_STREAM_REPLICAS,
      maxAgeMs: config.NATS_STREAM_MAX_AGE_DAYS * day,
    });
    // The relay's claims and "published" marks are redone after a crash (re-published,
    // then dropped by Nats-Msg-Id or the inboxes): they need not wait for the WAL flush.
    const relayPool = createPool({
      url: config.DATABASE_URL,
      applicationName: `${definition.name}-outbox-relay`,
      max: relayPoolSize,
      asynchronousCommit: true,
      onError: (error) => logger.warn({ err: error }, "idle relay database connection failed"),
    });
    closers.push(() => relayPool.end());
    const relay = startOutboxRelay({ pool: relayPool, js, logger });
    closers.push(() => relay.stop());
    const pruner = startEventPruner({
      pool: relayPool,
      retention: { outboxMs: config.OUTBOX_RETENTION_DAYS * day, inboxMs: config.INBOX_RETENTION_DAYS * day },
      logger,
      everyMs: pruneEveryMs,
    });
    closers.push(() => pruner.stop());
    const outbox = createOutbox(catalog, traceContextHeaders);
    outbox.onWritten(relay.handOff);

    const kit = { config, settings, logger, pool, consumerPool, nats, js, catalog, outbox };
    const parts = await definition.build(kit);
    if (parts.close) closers.push(parts.close);

    const verifier = createTokenVerifier({
      jwksUrl: config.AUTH_JWKS_URL,
      devKey: config.AUTH_DEV_KEY ? Buffer.from(config.AUTH_DEV_KEY, "base64url") : undefined,
      issuer: config.AUTH_ISSUER,
      audience: config.AUTH_AUDIENCE,
    });
    const server = await startServer({
      logger,
      grpcAddress: config.GRPC_ADDRESS,
      httpAddress: config.HTTP_ADDRESS,
      services: parts.services,
      interceptors: [createAuthInterceptor(verifier), createDatabaseUnavailableInterceptor()],
      corsOrigins: config.CORS_ORIGINS,
      shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    });
    const consumers: RunningConsumer[] = [];
    closers.push(async () => {
      await Promise.all(consumers.map((consumer) => consumer.stop()));
    });
    closers.push(() => server.close());
    for (const spec of parts.consumers) {
      consumers.push(await startConsumer({ ...spec, js, jsm, pool: consumerPool, logger, catalog }));
    }
    const stopObserving = observeService({
      pools: {
        [definition.name]: pool,
        [`${definition.name}-consumers`]: consumerPool,
        [`${definition.name}-outbox-relay`]: relayPool,
      },
      outboxPool: relayPool,
      jsm,
      consumers: consumers.flatMap(({ durables }) => durables),
      logger,
    });
    closers.push(async () => stopObserving());
    server.markServing();
    logger.info(
      {
        grpcPort: server.grpcPort,
        httpPort: server.httpPort,
        // What this replica may hold at most: what max_connections must leave room for.
        maxDatabaseConnections: connectionsPerReplica(definition, env),
      },
      `${definition.name} service ready`,
    );
    let closing: Promise<void> | undefined;
    return {
      name: definition.name,
      server,
      logger,
      // Rejects when a step failed, so the process exits 1 (onShutdownSignal).
      close: () => {
        closing ??= closeAll().then((failures) => {
          if (failures.length > 0) throw new AggregateError(failures, `${failures.length} shutdown step(s) failed`);
        });
        return closing;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** How long the shutdown waits for NATS to drain: a flush, normally milliseconds. */
const natsDrainMs = 2_000;

/**
 * Drains the connection, or closes it once `ms` have passed. A silent network (a
 * partition, a node that stopped answering) would hold the drain until the client's
 * pings fail, and again after it reconnects into the same silence — 70 s measured, past
 * the platform's grace, which would then kill the process before its pools closed and
 * its last spans were exported. Rejects when the drain did not complete.
 */
async function drainWithin(nats: NatsConnection, ms: number): Promise<void> {
  try {
    await deadline(nats.drain(), ms);
  } catch (error) {
    await nats.close();
    throw new Error(`NATS did not drain within ${ms} ms; the connection was closed`, { cause: error });
  }
}

/**
 * The whole of a service's `main.ts`: runs it with the process environment, shuts it
 * down in order on SIGTERM/SIGINT, and exits 1 with just the message (no stack) when
 * the configuration is invalid or start-up fails.
 */
export async function runServiceProcess<Extra extends z.ZodRawShape>(definition: ServiceDefinition<Extra>) {
  try {
    const service = await runService(definition);
    onShutdownSignal(service.logger, async () => {
      try {
        await service.close();
      } finally {
        // Whatever failed, the spans of the last moments are exported.
        await shutdownTelemetry();
      }
    });
  } catch (error) {
    const message =
      error instanceof ConfigError ? error.message : `${definition.name} failed to start: ${String(error)}`;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
}
