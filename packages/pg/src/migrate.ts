import { posix } from "node:path";
import { PG_MIGRATE_LOCK_ID, runner } from "node-pg-migrate";
import pg from "pg";

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
/** How often a replica still waiting for another's migration says so. */
const migrationWaitNoticeMs = 30_000;
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
  let noticeAt = 0;
  for (;;) {
    try {
      return await migrateOnce(options);
    } catch (error) {
      if (error instanceof Error && error.message.includes("Another migration is already running")) {
        if (performance.now() >= noticeAt) {
          noticeAt = performance.now() + migrationWaitNoticeMs;
          options.warn?.(`waiting for another session's migrations to finish: ${await migrationLockHolder(options)}`);
        }
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

/**
 * Who holds the migration lock, for an operator: normally another replica starting, but
 * one that hangs while holding it keeps every other from starting, and no bound applies
 * (its migrations may be long), so the waiting replicas name it.
 */
async function migrationLockHolder(options: MigrateOptions): Promise<string> {
  const client = new pg.Client({ connectionString: options.databaseUrl, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    const { rows } = await client.query<{
      pid: number;
      application_name: string;
      client_addr: string | null;
      since: string;
    }>(
      `SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr, to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted
          AND ((l.classid::bigint << 32) | l.objid::bigint) = $1::bigint`,
      [String(PG_MIGRATE_LOCK_ID)],
    );
    const [holder] = rows;
    return holder
      ? `the lock is held by backend ${holder.pid} (application "${holder.application_name}"${holder.client_addr ? ` from ${holder.client_addr}` : ""}, connected since ${holder.since})`
      : "the lock was released meanwhile";
  } catch (error) {
    return `who holds the lock could not be read (${String(error)})`;
  } finally {
    await client.end().catch(() => undefined);
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
