import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll } from "vitest";
import { testInfrastructure } from "./infrastructure.js";
import { uniqueName } from "./unique-name.js";

/**
 * A private corner of the shared NATS server for one test file.
 */
export interface TestNats {
  /** Server URL, or the URLs of a cluster's servers, comma-separated (NATS_URL's form). */
  url: string;
  /** Upper-case token, e.g. `T_ORDERS_3F9C1A2B7D`; start stream, subject and durable names with it. */
  prefix: string;
  /** Opens a connection that `cleanup()` closes. */
  connect(): Promise<NatsConnection>;
  /** Closes the connections opened here and deletes every stream whose name starts with the prefix. */
  cleanup(): Promise<void>;
}

/**
 * Reserves a unique prefix for streams and consumers on the test NATS server.
 *
 * ```ts
 * const nats = createTestNats("relay");
 * await jsm.streams.add({ name: `${nats.prefix}_ORDERS`, subjects: [`${nats.prefix}.orders.>`] });
 * await nats.cleanup();
 * ```
 */
export function createTestNats(label: string, url = testInfrastructure().natsUrl): TestNats {
  const prefix = uniqueName("t", label, 32).toUpperCase();
  const opened = new Set<NatsConnection>();
  const open = async () => {
    const nc = await connect({ servers: url.split(","), name: prefix, timeout: 5_000 });
    opened.add(nc);
    return nc;
  };
  return {
    url,
    prefix,
    connect: open,
    async cleanup() {
      await Promise.all([...opened].map((nc) => nc.close()));
      opened.clear();
      const nc = await open();
      try {
        const jsm = await jetstreamManager(nc);
        for await (const name of jsm.streams.names()) {
          if (name.startsWith(prefix)) await jsm.streams.delete(name);
        }
      } finally {
        opened.delete(nc);
        await nc.close();
      }
    },
  };
}

/**
 * Creates a {@link TestNats} for the calling file (or `describe`) and cleans
 * it up after its tests.
 *
 * ```ts
 * const nats = useTestNats("relay");
 * test("…", async () => { const nc = await nats.connect(); … });
 * ```
 */
export function useTestNats(label: string): TestNats {
  const nats = createTestNats(label);
  afterAll(() => nats.cleanup());
  return nats;
}
