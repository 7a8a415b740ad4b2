import { connect, type NatsConnection } from "@nats-io/transport-node";

/**
 * The operator commands' connection to NATS_URL (default nats://127.0.0.1:4222); a
 * server that cannot be reached is said in a sentence, exit 1, rather than a stack.
 */
export async function connectNats(): Promise<NatsConnection> {
  const servers = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
  try {
    return await connect({ servers: servers.split(",").map((server) => server.trim()) });
  } catch (error) {
    console.error(
      `cannot reach NATS at ${servers} (set NATS_URL): ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  }
}
