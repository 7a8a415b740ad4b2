import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";

/**
 * Proves a PostgreSQL server answers at `url` (`SELECT 1`). Resolves to
 * undefined when it does, or to the reason it does not.
 */
export async function probePostgres(url: string, timeoutMs = 2_000): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (error) {
    return reason(error);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Proves a NATS server with JetStream enabled answers at `url`. Resolves to
 * undefined when it does, or to the reason it does not.
 */
export async function probeNats(url: string, timeoutMs = 2_000): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: url, timeout: timeoutMs, reconnect: false });
    try {
      const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
      await jsm.getAccountInfo();
      return undefined;
    } finally {
      await nc.close();
    }
  } catch (error) {
    return reason(error);
  }
}

function reason(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return reason(error.errors[0]);
  return error instanceof Error ? error.message || error.name : String(error);
}
