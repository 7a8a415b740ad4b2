import { posix } from "node:path";
import { runner } from "node-pg-migrate";

/** Where a service's migrations are and how to report them. */
export interface MigrateOptions {
  readonly databaseUrl: string;
  /**
   * Folders of numbered `NNN_name.up.sql` files (`.up.js` for one that must run outside a
   * transaction, such as CREATE INDEX CONCURRENTLY), applied in name order. Migrations are
   * forward-only: node-pg-migrate's default SQL loader would run a `.down.sql` as another
   * up migration.
   */
  readonly dir: string | string[];
  readonly log?: (message: string) => void;
  /** What an operator must hear: a migration waiting for a lock someone else holds. */
  readonly warn?: (message: string) => void;
  /**
   * How long, in all, migrations may keep giving up on a lock before the start fails
   * (default 5 minutes): a rollout waits for a report to finish, not for ever.
   */
  readonly lockWaitMs?: number;
}

/** How often a replica whose migration lock is taken tries again. */
const lockRetryMs = 250;
/**
 * How long a migration that gave up waiting for a table's lock (its `lock_timeout`:
 * someone else's long transaction) waits before it tries again.
 */
const lockTimeoutRetryMs = 2_000;
const defaultLockWaitMs = 5 * 60_000;
/** What a migration waits for a table's lock, at most, each time it tries. */
const migrationLockTimeout = "1s";

/**
 * Applies pending migrations with node-pg-migrate. It holds an advisory lock while
 * it runs, so replicas starting together migrate once; applied migrations are
 * recorded in `pgmigrations`.
 *
 * A replica that finds the lock taken tries again every 250 ms instead of waiting in
 * `pg_advisory_lock`: a session blocked there holds a snapshot, and CREATE INDEX
 * CONCURRENTLY in the migrating session waits for every snapshot — each would wait for
 * the other, and PostgreSQL ends the deadlock by failing one of them.
 *
 * Every migration waits at most 1 s for a table's lock (`lock_timeout`, unless it sets
 * its own): a lock request queues every later statement on that table behind it, and
 * the serving replicas' statements give up after their own 2 s. A migration that runs
 * out of it is tried again, said through `warn` each time, until the table is free or
 * `lockWaitMs` has passed: it was rolled back whole, and is not recorded.
 */
export async function migrate(options: MigrateOptions): Promise<string[]> {
  const giveUpAt = performance.now() + (options.lockWaitMs ?? defaultLockWaitMs);
  for (;;) {
    try {
      return await migrateOnce(options);
    } catch (error) {
      if (error instanceof Error && error.message.includes("Another migration is already running")) {
        await new Promise((resolve) => setTimeout(resolve, lockRetryMs));
      } else if (isLockTimeout(error) && performance.now() < giveUpAt) {
        options.warn?.(
          `a migration is waiting for a lock another session holds (${String(error)}); trying again in ${lockTimeoutRetryMs} ms`,
        );
        await new Promise((resolve) => setTimeout(resolve, lockTimeoutRetryMs));
      } else if (isLockTimeout(error)) {
        throw new Error(`migrations gave up waiting for a lock another session holds: ${String(error)}`, {
          cause: error,
        });
      } else {
        throw error;
      }
    }
  }
}

/** PostgreSQL's lock_not_available: a statement's `lock_timeout` ran out. */
function isLockTimeout(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "55P03";
}

async function migrateOnce(options: MigrateOptions): Promise<string[]> {
  const dirs = typeof options.dir === "string" ? [options.dir] : options.dir;
  const applied = await runner({
    // A server that accepts the connection and never answers (a failed-over address, a
    // partition) would otherwise hold the start, silently, for ever.
    databaseUrl: {
      connectionString: options.databaseUrl,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      options: `-c lock_timeout=${migrationLockTimeout}`,
    },
    // node-pg-migrate takes several folders only as glob patterns (useGlob).
    dir: dirs.map((dir) => posix.join(dir, "*")),
    useGlob: true,
    direction: "up",
    migrationsTable: "pgmigrations",
    checkOrder: true,
    // Taken or failed at once: migrate() tries again (see above).
    advisoryLockMode: "fail",
    log: options.log ?? (() => undefined),
  });
  return applied.map((migration) => migration.name);
}
