export { databaseUrl, ensureDatabase } from "./database.js";
export { createListener, type Listener, type ListenerOptions } from "./listener.js";
export { type MigrateOptions, migrate } from "./migrate.js";
export { createPool, type PoolOptions } from "./pool.js";
export { type Queryable, type Statement, statement } from "./statement.js";
export { afterCommit, awaitAtCommit, isRetryable, isWithTxClient, withTx } from "./transaction.js";
export { isDatabaseDown, isDatabaseUnavailable, isDatabaseUnreachable } from "./unavailable.js";
