import { inject } from "vitest";
import type {} from "./provided-context.js";
import { defaultInfrastructure } from "./resolve-infrastructure.js";

/**
 * URLs of the servers used by this test run.
 */
export interface TestInfrastructure {
  /** Admin URL of PostgreSQL; create per-test databases with `createTestDatabase`. */
  databaseUrl: string;
  /** URL of NATS with JetStream; isolate streams with `createTestNats`. */
  natsUrl: string;
}

/**
 * Returns the URLs chosen by the global setup, falling back to DATABASE_URL
 * and NATS_URL (then the local defaults) outside a vitest worker.
 *
 * ```ts
 * const { databaseUrl, natsUrl } = testInfrastructure();
 * ```
 */
export function testInfrastructure(): TestInfrastructure {
  return {
    databaseUrl: provided("databaseUrl") ?? process.env.DATABASE_URL ?? defaultInfrastructure.databaseUrl,
    natsUrl: provided("natsUrl") ?? process.env.NATS_URL ?? defaultInfrastructure.natsUrl,
  };
}

function provided(key: "databaseUrl" | "natsUrl"): string | undefined {
  try {
    return inject(key) || undefined;
  } catch {
    return undefined;
  }
}
