import { connect, type NatsConnection } from "@nats-io/transport-node";
import { withoutCredentials } from "../nats-url.js";

/**
 * The operator commands' connection to NATS_URL (default nats://127.0.0.1:4222); a
 * server that cannot be reached is said in a sentence, exit 1, rather than a stack.
 */
export async function connectNats(): Promise<NatsConnection> {
  try {
    return await connect({ servers: natsServers() });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    console.error(`cannot reach NATS at ${printableNatsUrl()} (set NATS_URL): ${why}`);
    process.exit(1);
  }
}

/** NATS_URL as it may be printed: every server's user and password left out. */
export function printableNatsUrl(): string {
  return natsServers().map(withoutCredentials).join(",");
}

function natsServers(): string[] {
  return (process.env.NATS_URL ?? "nats://127.0.0.1:4222").split(",").map((server) => server.trim());
}
