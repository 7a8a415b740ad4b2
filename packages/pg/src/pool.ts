import pg from "pg";

/** Options of a service's connection pool. */
export interface PoolOptions {
  readonly url: string;
  readonly applicationName: string;
  readonly max?: number;
  /** Longest a statement may run (default 5 s). */
  readonly statementTimeoutMs?: number;
  /** Longest a statement waits for a lock (default 2 s). */
  readonly lockTimeoutMs?: number;
  /**
   * Longest a caller waits for a pooled connection before its query fails with an
   * error that {@link isDatabaseUnavailable} recognises (default 5 s).
   */
  readonly acquireTimeoutMs?: number;
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
 * Creates a pg pool with the server-side timeouts every shopmesh service wants, and
 * the idle-client error handler node-postgres requires.
 */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    application_name: options.applicationName,
    max: options.max ?? 10,
    statement_timeout: options.statementTimeoutMs ?? 5_000,
    lock_timeout: options.lockTimeoutMs ?? 2_000,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 10_000,
    connectionTimeoutMillis: options.acquireTimeoutMs ?? 5_000,
    ...(options.asynchronousCommit ? { options: "-c synchronous_commit=off" } : {}),
  });
  pool.on("error", options.onError);
  return pool;
}
