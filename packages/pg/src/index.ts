export { databaseUrl, ensureDatabase } from "./database.js";
export { type MigrateOptions, migrate } from "./migrate.js";
export { createListener, type Listener, type ListenerOptions } from "./listener.js";
export { createPool, type PoolOptions } from "./pool.js";
export { isRetryable, withTx } from "./transaction.js";
