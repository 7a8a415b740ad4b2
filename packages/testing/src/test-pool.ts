import pg from "pg";

/**
 * A pool on a test database. pg ends a pool's connections without waiting for them to
 * close, and the database's drop (forced) may end a connection on the server before
 * it has read the client's goodbye: the server's "terminating connection" then reaches
 * an idle client, and pg rethrows it from a pool with no listener — an uncaught error
 * after every test has passed. Such errors of a pool that is ending are ignored; an
 * error before, which a test did not expect, is thrown as pg would.
 *
 * ```ts
 * const pool = createTestPool({ connectionString: db.url, max: 4 });
 * afterAll(() => pool.end());
 * ```
 */
export function createTestPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on("error", (error) => {
    if (!pool.ending) throw error;
  });
  return pool;
}
