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
}

/** A LISTEN connection. */
export interface Listener {
  close(): Promise<void>;
}

/**
 * Keeps one dedicated connection LISTENing on a channel, reconnecting after failures.
 * NOTIFY is delivered only on commit, so a notification means the change is visible.
 */
export function createListener(options: ListenerOptions): Listener {
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    const next = new pg.Client({ connectionString: options.url, application_name: options.applicationName });
    next.on("notification", (message) => options.onNotify(message.payload ?? ""));
    next.on("error", (error) => {
      options.onError(error);
      next.end().catch(() => undefined);
      if (client === next) client = undefined;
      if (!closed) retry = setTimeout(connect, options.reconnectMs ?? 1_000);
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${pg.escapeIdentifier(options.channel)}`);
      if (closed) {
        await next.end();
        return;
      }
      client = next;
      options.onConnect?.();
    } catch (error) {
      next.emit("error", error as Error);
    }
  };
  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    },
  };
}
