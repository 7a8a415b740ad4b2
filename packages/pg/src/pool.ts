import { AsyncResource } from "node:async_hooks";
import pg from "pg";

/** Options of a service's connection pool. */
export interface PoolOptions {
  readonly url: string;
  readonly applicationName: string;
  readonly max?: number;
  /** Longest a statement may run (default 5 s; 0: no limit). */
  readonly statementTimeoutMs?: number;
  /** Longest a statement waits for a lock (default 2 s). */
  readonly lockTimeoutMs?: number;
  /**
   * Longest a caller waits for a pooled connection before its query fails with an
   * error that {@link isDatabaseUnavailable} recognises (default 5 s).
   */
  readonly acquireTimeoutMs?: number;
  /**
   * Longest the client waits for a statement's answer before it gives the connection
   * up (default: the statement timeout + 5 s; none without a statement timeout, or at 0).
   * The statement timeout is the server's:
   * a network that stops carrying a connection without a reset (a partition, a
   * failed-over address) would otherwise hold the statement, and its pooled connection,
   * until TCP gives up, some 15 minutes later. The statement then fails with an error
   * {@link isDatabaseUnavailable} recognises, and so do the others sent on that connection.
   * Counted from when the statement is issued: one pipelined behind others counts their
   * time too, so a transaction's statements together must answer within it.
   */
  readonly answerTimeoutMs?: number;
  /** Longest a transaction may sit idle before the server ends it (default 10 s). */
  readonly idleInTransactionTimeoutMs?: number;
  /**
   * Commit without waiting for the WAL flush — only for writes whose loss on a crash is
   * harmless because they are redone (such as the outbox relay's bookkeeping).
   */
  readonly asynchronousCommit?: boolean;
  /** Called for errors of idle clients, which would otherwise crash the process. */
  readonly onError: (error: Error) => void;
}

/**
 * Session settings of every connection: plans that look rows up through an index.
 *
 * Every statement of the services finds its rows by key (an order id, an event id, a
 * SKU, the unpublished end of the outbox). PostgreSQL plans a named statement once and
 * keeps the plan until the table's next ANALYZE; planned while a table is new and
 * empty — and never re-planned where autovacuum is off or has not run yet — a lookup
 * becomes a sequential or bitmap scan of a table that grows with every order, and costs
 * more with each one. With these two off, the planner takes the index whatever its
 * statistics say; a plain index scan also marks the entries of dead rows it passes
 * (which a bitmap scan does not), so the outbox's unpublished-rows index stays small
 * without vacuum. A statement with no index to use still runs, as a scan. See
 * docs/decisions/0013-plans-that-stay-index-lookups.md.
 */
const indexLookupSettings = { enable_seqscan: "off", enable_bitmapscan: "off" } as const;

type ConnectCallback = (
  error: Error | undefined,
  client: pg.PoolClient | undefined,
  release: (error?: Error | boolean) => void,
) => void;

/**
 * A pool that hands a connection over in the async context of the caller that asked
 * for it. pg-pool calls a caller that waited for a connection back from the code of
 * whichever caller released one (a new connection's, from its socket's events): the
 * statement `pool.query` sends from that callback would run in another request's
 * context — its SQL span in another trace, or none at all once that request's span has
 * ended. (A promise's continuation keeps its own context: `await pool.connect()` is fine.)
 */
class CallerContextPool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    if (!callback) return super.connect();
    super.connect(AsyncResource.bind(callback));
    return undefined;
  }
}

/**
 * Creates a pg pool with the timeouts (the server's, and how long an answer is waited
 * for) and planner settings every shopmesh service wants, and the idle-client error
 * handler node-postgres requires.
 */
export function createPool(options: PoolOptions): pg.Pool {
  const statementTimeoutMs = options.statementTimeoutMs ?? 5_000;
  const pool = new CallerContextPool({
    connectionString: options.url,
    application_name: options.applicationName,
    max: options.max ?? 10,
    statement_timeout: statementTimeoutMs,
    query_timeout: options.answerTimeoutMs ?? (statementTimeoutMs > 0 ? statementTimeoutMs + 5_000 : 0),
    lock_timeout: options.lockTimeoutMs ?? 2_000,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 10_000,
    connectionTimeoutMillis: options.acquireTimeoutMs ?? 5_000,
    // Statements issued without waiting for the previous answer go out at once (a
    // transaction's BEGIN with its first statement, see withTx) instead of queueing.
    pipeline: true,
    options: Object.entries({
      ...indexLookupSettings,
      ...(options.asynchronousCommit ? { synchronous_commit: "off" } : {}),
    })
      .map(([name, value]) => `-c ${name}=${value}`)
      .join(" "),
  });
  // An idle connection's error is the process's, not a request's: pg emits it in the
  // context of the call that opened the connection, whose trace id its log line would carry.
  pool.on("error", AsyncResource.bind(options.onError));
  // pg-pool listens for a client's 'error' only while it is idle, and withTx from just
  // after it is handed over: in between — the same socket read that ends the previous
  // user's statement hands the client to the next waiter, whose code runs only after the
  // read — a server ending the connection (a restart, a failover) reports an error that
  // nobody hears, and the process dies of it. Heard here, it only leaves the client
  // unqueryable: its next statement fails as the database unavailable, and the pool
  // discards it on release.
  pool.on("connect", (client) => client.on("error", whileHandedOver));
  return pool;
}

/** See createPool: an error the pool and the client's user did not hear, which pg has already recorded on the client. */
function whileHandedOver(): void {}
