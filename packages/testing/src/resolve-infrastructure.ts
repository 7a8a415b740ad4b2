import { startPrivateNats } from "./private-nats.js";
import { startPrivatePostgres } from "./private-postgres.js";
import type { PrivateServer } from "./private-server.js";
import { probeNats, probePostgres } from "./probe.js";

/**
 * Where the harness looks for servers when no environment variable names one.
 */
export const defaultInfrastructure = {
  databaseUrl: "postgres://root@127.0.0.1:5432/postgres",
  natsUrl: "nats://127.0.0.1:4222",
};

/**
 * Options for {@link resolveInfrastructure}.
 */
export interface ResolveInfrastructureOptions {
  /** URLs tried when the environment does not set DATABASE_URL / NATS_URL. */
  defaults?: { databaseUrl: string; natsUrl: string };
  /** Environment read for DATABASE_URL and NATS_URL. Defaults to process.env. */
  env?: Record<string, string | undefined>;
}

/**
 * The servers chosen for a test run.
 */
export interface Infrastructure {
  databaseUrl: string;
  natsUrl: string;
  postgres: "external" | "embedded";
  nats: "external" | "embedded";
  /** One line saying which servers are used, without passwords. */
  summary: string;
  /** Stops what this run started and removes its temp folders; external servers are left alone. */
  stop(): Promise<void>;
}

/**
 * Finds PostgreSQL and NATS (with JetStream), starting private ones only when
 * the URL came from the defaults and nothing answers there. A URL given
 * explicitly must answer, or this throws naming it.
 *
 * ```ts
 * const infra = await resolveInfrastructure();
 * try { … } finally { await infra.stop(); }
 * ```
 */
export async function resolveInfrastructure(options: ResolveInfrastructureOptions = {}): Promise<Infrastructure> {
  const defaults = options.defaults ?? defaultInfrastructure;
  const env = options.env ?? process.env;
  const results = await Promise.allSettled([
    choose({ name: "PostgreSQL", variable: "DATABASE_URL", given: env.DATABASE_URL, fallback: defaults.databaseUrl }),
    choose({ name: "NATS", variable: "NATS_URL", given: env.NATS_URL, fallback: defaults.natsUrl }),
  ]);
  const chosen = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const stop = async () => {
    await Promise.all(chosen.map((choice) => choice.server?.stop()));
  };
  const failure = results.find((result) => result.status === "rejected");
  if (failure) {
    await stop();
    throw failure.reason;
  }
  const [postgres, nats] = chosen as [Choice, Choice];
  return {
    databaseUrl: postgres.url,
    natsUrl: nats.url,
    postgres: postgres.kind,
    nats: nats.kind,
    summary: `test infrastructure: PostgreSQL ${redact(postgres.url)} (${postgres.kind}), NATS ${redact(nats.url)} (${nats.kind})`,
    stop,
  };
}

interface Wanted {
  name: "PostgreSQL" | "NATS";
  variable: string;
  given: string | undefined;
  fallback: string;
}

interface Choice {
  url: string;
  kind: "external" | "embedded";
  server?: PrivateServer;
}

const services = {
  PostgreSQL: { probe: probePostgres, start: startPrivatePostgres },
  NATS: { probe: probeNats, start: startPrivateNats },
};

async function choose({ name, variable, given, fallback }: Wanted): Promise<Choice> {
  const url = given || fallback;
  const problem = await services[name].probe(url);
  if (problem === undefined) return { url, kind: "external" };
  if (given) throw new Error(`${variable}=${redact(url)} is set, but ${name} is not usable there: ${problem}`);
  const server = await services[name].start();
  return { url: server.url, kind: "embedded", server };
}

function redact(url: string): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString();
}
