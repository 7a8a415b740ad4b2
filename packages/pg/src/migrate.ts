import { posix } from "node:path";
import { runner } from "node-pg-migrate";

/** Where a service's migrations are and how to report them. */
export interface MigrateOptions {
  readonly databaseUrl: string;
  /** Folders of numbered `NNN_name.up.sql` files, applied in name order. Migrations are forward-only: node-pg-migrate's default SQL loader would run a `.down.sql` as another up migration. */
  readonly dir: string | string[];
  readonly log?: (message: string) => void;
}

/**
 * Applies pending migrations with node-pg-migrate. It holds an advisory lock while
 * it runs, so replicas starting together migrate once; applied migrations are
 * recorded in `pgmigrations`.
 */
export async function migrate(options: MigrateOptions): Promise<string[]> {
  const dirs = typeof options.dir === "string" ? [options.dir] : options.dir;
  const applied = await runner({
    databaseUrl: options.databaseUrl,
    // node-pg-migrate takes several folders only as glob patterns (useGlob).
    dir: dirs.map((dir) => posix.join(dir, "*")),
    useGlob: true,
    direction: "up",
    migrationsTable: "pgmigrations",
    checkOrder: true,
    // Replicas starting together queue on the lock (the library's default fails them).
    advisoryLockMode: "wait",
    log: options.log ?? (() => undefined),
  });
  return applied.map((migration) => migration.name);
}
