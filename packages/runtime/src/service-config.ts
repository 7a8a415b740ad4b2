import {
  ConfigError,
  hostPort,
  loadConfig,
  natsServers,
  positiveInt,
  urlWithScheme,
  webOrigins,
  z,
} from "@shopmesh/config";
import { eventMaxAgeDays, inboxOutlivesOutboxDays } from "@shopmesh/events";

/** Listen addresses a service uses unless configured. */
export interface ServiceDefaults {
  readonly grpcAddress: string;
  readonly httpAddress: string;
}

/**
 * The environment variables every service reads (documented in docs/configuration.md).
 * `extra` adds a service's own variables.
 */
export function serviceConfigShape(defaults: ServiceDefaults) {
  return {
    DATABASE_URL: urlWithScheme("postgres", "postgresql"),
    NATS_URL: natsServers().default("nats://127.0.0.1:4222"),
    GRPC_ADDRESS: hostPort().default(defaults.grpcAddress),
    HTTP_ADDRESS: hostPort().default(defaults.httpAddress),
    EVENT_NAMESPACE: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*$/, "upper-case letters, digits and _")
      .optional(),
    NATS_STREAM_REPLICAS: positiveInt().max(5).default(1),
    // How long the event streams keep an event: what a NATS node's store must hold at the
    // order rate (docs/scaling.md). At most the 7 days inboxOutlivesOutboxDays is derived
    // from; a shorter age only makes that bound more conservative.
    NATS_STREAM_MAX_AGE_DAYS: positiveInt().max(eventMaxAgeDays).default(eventMaxAgeDays),
    // A connection whose pings go unanswered twice is given up and made again: without
    // a reset (a dead host, a dropped route) nothing else would notice it.
    NATS_PING_INTERVAL_MS: positiveInt().max(600_000).default(10_000),
    // Published outbox rows are kept for re-publication; inbox rows outlive every copy of
    // an event that can still come back (see inboxOutlivesOutboxDays).
    OUTBOX_RETENTION_DAYS: positiveInt().max(365).default(14),
    INBOX_RETENTION_DAYS: positiveInt()
      .min(1 + inboxOutlivesOutboxDays)
      .max(3_650)
      .default(60),
    DB_POOL_SIZE: positiveInt().max(200).default(10),
    DB_CONSUMER_POOL_SIZE: positiveInt().max(200).default(4),
    DB_ACQUIRE_TIMEOUT_MS: positiveInt().max(60_000).default(1_000),
    AUTH_JWKS_URL: urlWithScheme("https", "http").optional(),
    AUTH_DEV_KEY: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43,}$/, "base64url of at least 32 bytes")
      .optional(),
    AUTH_ISSUER: z.string().min(1).default("shopmesh-dev"),
    AUTH_AUDIENCE: z.string().min(1).default("shopmesh"),
    CORS_ORIGINS: webOrigins().default(["http://localhost:5173"]),
    // pino's levels: any other value would make the logger throw after the rest was validated.
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    // At most 10 minutes: beyond 2^31 ms a timer fires at once, which would force every shutdown.
    SHUTDOWN_GRACE_MS: positiveInt().max(600_000).default(10_000),
  };
}

/** The configuration every service has. */
export type ServiceConfig = ReturnType<typeof loadServiceConfig>;

/**
 * Reads the common configuration and a service's own variables, failing with every
 * problem of both at once — the checks across variables included, even when some
 * variable is invalid on its own.
 */
export function loadServiceConfig(defaults: ServiceDefaults, env: Record<string, string | undefined>) {
  // Each problem a line, indented as loadConfig lists them.
  const problems: string[] = [];
  let config: ReturnType<typeof loadConfig<ReturnType<typeof serviceConfigShape>>> | undefined;
  try {
    config = loadConfig(serviceConfigShape(defaults), env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(error.message.replace(/^invalid configuration:\n/, ""));
  }
  if (!env.AUTH_JWKS_URL && !env.AUTH_DEV_KEY) {
    problems.push("  AUTH_JWKS_URL or AUTH_DEV_KEY must be set (see docs/configuration.md)");
  }
  const inboxAtLeast = (config?.OUTBOX_RETENTION_DAYS ?? 0) + inboxOutlivesOutboxDays;
  if (config && config.INBOX_RETENTION_DAYS < inboxAtLeast) {
    problems.push(
      `  INBOX_RETENTION_DAYS must be at least OUTBOX_RETENTION_DAYS + ${inboxOutlivesOutboxDays} (${inboxAtLeast}): ` +
        "a copy of an event can arrive that long after it was first applied (see docs/configuration.md)",
    );
  }
  if (!config || problems.length > 0) throw new ConfigError(`invalid configuration:\n${problems.join("\n")}`);
  return config;
}

/** Loads two configurations, reporting the problems of both together. */
export function loadBoth<A, B>(first: () => A, second: () => B): [A, B] {
  const attempt = <T>(load: () => T): { value?: T; problem?: string } => {
    try {
      return { value: load() };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return { problem: error.message.replace(/^invalid configuration:\n/, "") };
    }
  };
  const a = attempt(first);
  const b = attempt(second);
  const problems = [a.problem, b.problem].filter((problem) => problem !== undefined);
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n${problems.join("\n")}`);
  return [a.value as A, b.value as B];
}
