import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";

/** How often JetStream is asked, and after how many failed answers in a row the connection moves. */
export interface JetStreamWatchOptions {
  readonly everyMs?: number;
  readonly failuresBeforeMove?: number;
}

/**
 * Moves a NATS connection off a server through which JetStream does not answer. A
 * connection stays on its server while that server answers pings — also when the
 * server is cut off from the rest of its JetStream cluster: every JetStream request
 * through it then fails (the relay's publishes, the consumers' pulls) while the other
 * nodes, with a quorum of every stream, serve everyone else. Asks JetStream every
 * `everyMs` (2 s); after `failuresBeforeMove` (3) failed answers in a row, reconnects,
 * which takes the next server of the pool (NATS_URL and the servers the cluster
 * gossips); the consumers pull again on the reconnect. A move that lands on the same
 * server fails the next rounds and moves again; each further move waits twice as
 * many failures (up to ten times the first), so a cluster with no quorum anywhere is
 * not churned through: nothing is lost meanwhile, the outbox and the streams hold
 * every event. Returns a function that stops watching.
 */
export function watchJetStream(
  nats: NatsConnection,
  jsm: JetStreamManager,
  logger: Logger,
  { everyMs = 2_000, failuresBeforeMove = 3 }: JetStreamWatchOptions = {},
): () => void {
  let failures = 0;
  let failuresNeeded = failuresBeforeMove;
  let checking = false;
  const check = async () => {
    if (checking || nats.isClosed() || nats.isDraining()) return;
    checking = true;
    try {
      await jsm.getAccountInfo();
      failures = 0;
      failuresNeeded = failuresBeforeMove;
    } catch (error) {
      if (++failures < failuresNeeded) return;
      failures = 0;
      failuresNeeded = Math.min(failuresNeeded * 2, failuresBeforeMove * 10);
      logger.warn(
        { err: error, server: nats.getServer() },
        "JetStream does not answer through this NATS server; moving to another",
      );
      await nats.reconnect().catch(() => undefined);
    } finally {
      checking = false;
    }
  };
  const timer = setInterval(() => void check(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
