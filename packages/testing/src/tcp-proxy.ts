import { createServer, type Socket, connect as tcpConnect } from "node:net";

/** A TCP proxy in front of a server, whose network can be made to fail. */
export interface TcpProxy {
  /** The target's URL with the proxy's host and port in its place. */
  readonly url: string;
  /**
   * Stops carrying the connections open now, in both directions, while keeping them
   * open: a network that drops a flow without a reset (a partition, a failed-over
   * address). Connections made afterwards are carried.
   */
  silence(): void;
  /**
   * Stops carrying every connection, those open now and those made later, which it
   * accepts and never answers: a host gone from the network, neither resetting nor
   * refusing.
   */
  partition(): void;
  /** Ends the connections open now with a reset, as a network that heals does to a flow it lost; later ones are carried. */
  reset(): void;
  /**
   * Resets the connections open now and every one made later, until `heal`: a server
   * that is down on a host that answers (nothing listening, or restarting).
   */
  refuse(): void;
  /** Carries the connections made from now on again (after `refuse` or `partition`). */
  heal(): void;
  /** The connections `refuse` has reset. */
  readonly refused: number;
  /** The connections made since `partition`, accepted and held unanswered now. */
  readonly unanswered: number;
  /** Closes every connection and the proxy. */
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  /** Resets the first connection whose client sends data this accepts (then no other). */
  readonly resetOnce?: (data: Buffer) => boolean;
}

/** Starts a proxy on 127.0.0.1 to the host and port of `targetUrl` (such as a PostgreSQL URL). */
export async function startTcpProxy(targetUrl: string, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const pairs = new Set<{ client: Socket; upstream: Socket; forwarding: boolean }>();
  let resetOnce = options.resetOnce;
  let partitioned = false;
  let refusing = false;
  let refused = 0;
  const unanswered = new Set<Socket>();
  const resetAll = () => {
    for (const pair of pairs) {
      pair.client.resetAndDestroy();
      pair.upstream.destroy();
    }
  };
  const server = createServer((client) => {
    if (refusing) {
      refused++;
      client.on("error", () => undefined).resetAndDestroy();
      return;
    }
    if (partitioned) {
      unanswered.add(client);
      client.on("close", () => unanswered.delete(client)).on("error", () => client.destroy());
      return;
    }
    const upstream = tcpConnect(Number(target.port || 5432), target.hostname);
    const pair = { client, upstream, forwarding: true };
    pairs.add(pair);
    client.on("data", (data) => {
      if (resetOnce?.(data)) {
        resetOnce = undefined;
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      if (pair.forwarding) upstream.write(data);
    });
    upstream.on("data", (data) => {
      if (pair.forwarding) client.write(data);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(targetUrl);
  url.host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url: url.toString(),
    silence: () => {
      for (const pair of pairs) pair.forwarding = false;
    },
    partition: () => {
      partitioned = true;
      for (const pair of pairs) pair.forwarding = false;
    },
    reset: resetAll,
    refuse: () => {
      refusing = true;
      refused += pairs.size;
      resetAll();
    },
    heal: () => {
      refusing = false;
      partitioned = false;
    },
    get refused() {
      return refused;
    },
    get unanswered() {
      return unanswered.size;
    },
    close: async () => {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      for (const client of unanswered) client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
