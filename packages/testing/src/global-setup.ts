import type { TestProject } from "vitest/node";
import type {} from "./provided-context.js";
import { type Infrastructure, resolveInfrastructure } from "./resolve-infrastructure.js";

export {
  defaultInfrastructure,
  type Infrastructure,
  type ResolveInfrastructureOptions,
  resolveInfrastructure,
} from "./resolve-infrastructure.js";

interface Shared {
  infrastructure: Promise<Infrastructure>;
  users: number;
}

const sharedKey = Symbol.for("@shopmesh/testing/infrastructure");
const registry = globalThis as { [sharedKey]?: Shared };

/**
 * Vitest global setup: finds or starts PostgreSQL and NATS, provides their
 * URLs to test files (see `testInfrastructure()`), exports them as
 * DATABASE_URL / NATS_URL for child processes, and stops what it started when
 * the run ends. Projects of one vitest run share one set of servers.
 *
 * `defineShopmeshConfig()` from `@shopmesh/testing/vitest-preset` registers it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  registry[sharedKey] ??= { infrastructure: start(), users: 0 };
  const shared = registry[sharedKey];
  shared.users++;
  const infrastructure = await shared.infrastructure.catch((error: unknown) => {
    if (registry[sharedKey] === shared) delete registry[sharedKey];
    throw error;
  });
  project.provide("databaseUrl", infrastructure.databaseUrl);
  project.provide("natsUrl", infrastructure.natsUrl);
  return async () => {
    if (--shared.users > 0) return;
    if (registry[sharedKey] === shared) delete registry[sharedKey];
    await infrastructure.stop();
  };
}

async function start(): Promise<Infrastructure> {
  const previous = { DATABASE_URL: process.env.DATABASE_URL, NATS_URL: process.env.NATS_URL };
  const infrastructure = await resolveInfrastructure();
  console.log(infrastructure.summary);
  process.env.DATABASE_URL = infrastructure.databaseUrl;
  process.env.NATS_URL = infrastructure.natsUrl;
  return {
    ...infrastructure,
    async stop() {
      for (const [name, value] of Object.entries(previous)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await infrastructure.stop();
    },
  };
}
