import pg from "pg";

/** Where to LISTEN and what to do with notifications. */
export interface ListenerOptions {
  readonly url: string;
  readonly channel: string;
  readonly applicationName: string;
  /** Called with each notification's payload. */
  readonly onNotify: (payload: string) => void;
  /** Called once the connection is (re-)established: notifications may have been missed. */
  readonly onConnect?: () => void;
  readonly onError: (error: Error) => void;
  /** Delay before reconnecting after a failure (default 1 s). */
  readonly reconnectMs?: number;
  /**
   * How often the idle connection proves it is alive, and how long the proof may take
   * (default every 30 s, within 5 s).
   */
  readonly heartbeat?: { readonly everyMs: number; readonly timeoutMs: number };
}

/** A LISTEN connection. */
export interface Listener {
  close(): Promise<void>;
}

/**
 * Keeps one dedicated connection LISTENing on a channel, reconnecting after failures.
 * NOTIFY is delivered only on commit, so a notification means the change is visible.
 * An idle LISTEN connection sends nothing, so one that a network drops silently (a
 * NAT or load balancer's idle timeout, a failover without a reset) would never fail:
 * a heartbeat query finds it out, and the listener reconnects.
 */
export function createListener(options: ListenerOptions): Listener {
  const heartbeat = options.heartbeat ?? { everyMs: 30_000, timeoutMs: 5_000 };
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    const next = new pg.Client({
      connectionString: options.url,
      application_name: options.applicationName,
      query_timeout: heartbeat.timeoutMs,
    });
    let beat: NodeJS.Timeout | undefined;
    let failed = false;
    // Once per connection: a connection lost while LISTEN is in flight reports both
    // an error event and the failed query, and must reconnect only once.
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      clearInterval(beat);
      options.onError(error);
      next.end().catch(() => undefined);
      if (client === next) client = undefined;
      if (!closed) retry = setTimeout(connect, options.reconnectMs ?? 1_000);
    };
    next.on("notification", (message) => options.onNotify(message.payload ?? ""));
    next.on("error", fail);
    next.on("end", () => clearInterval(beat));
    try {
      await next.connect();
      await next.query(`LISTEN ${pg.escapeIdentifier(options.channel)}`);
      if (closed) {
        await next.end();
        return;
      }
      client = next;
      beat = setInterval(() => {
        next.query("SELECT 1").catch((error: unknown) => fail(error as Error));
      }, heartbeat.everyMs);
      beat.unref();
      options.onConnect?.();
    } catch (error) {
      fail(error as Error);
    }
  };
  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      const current = client;
      client = undefined;
      await current?.end().catch(() => undefined);
    },
  };
}
