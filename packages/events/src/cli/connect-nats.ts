import { connect, type NatsConnection } from "@nats-io/transport-node";

/**
 * The operator commands' connection to NATS_URL (default nats://127.0.0.1:4222); a
 * server that cannot be reached is said in a sentence, exit 1, rather than a stack.
 */
export async function connectNats(): Promise<NatsConnection> {
  const servers = (process.env.NATS_URL ?? "nats://127.0.0.1:4222").split(",").map((server) => server.trim());
  try {
    return await connect({ servers });
  } catch (error) {
    const where = servers.map(withoutCredentials).join(",");
    const why = error instanceof Error ? error.message : String(error);
    console.error(`cannot reach NATS at ${where} (set NATS_URL): ${why}`);
    process.exit(1);
  }
}

/** A server as it may be printed: a URL's user and password left out. */
function withoutCredentials(server: string): string {
  const url = URL.parse(server);
  if (!url || (!url.username && !url.password)) return server;
  url.username = "";
  url.password = "";
  return url.href.replace(/\/$/, "");
}
