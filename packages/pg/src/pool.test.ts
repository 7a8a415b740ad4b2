import { AsyncLocalStorage } from "node:async_hooks";
import { startTcpProxy, useTestDatabase, waitFor } from "@shopmesh/testing";
import pg from "pg";
import { describe, expect, test } from "vitest";
import { createPool } from "./pool.js";
import { afterCommit, awaitAtCommit, withTx } from "./transaction.js";
import { isDatabaseUnavailable } from "./unavailable.js";

const db = useTestDatabase("pg pool");

/**
 * What a service meets before anything has analyzed its tables (a new database, or
 * autovacuum off): a named statement planned while the table held a few rows, its plan
 * kept while the table grows. Answers the scan nodes of that plan once the table holds
 * 20,000 rows.
 */
async function scansOfAPlanMadeOnASmallTable(client: pg.ClientBase, table: string): Promise<string[]> {
  await client.query("SET plan_cache_mode = force_generic_plan");
  await client.query(
    `CREATE TABLE ${table} (id uuid PRIMARY KEY, customer_id uuid, status text, reason text, total bigint,
                           currency text, created_at timestamptz, updated_at timestamptz)`,
  );
  const lookup = {
    name: `lookup-${table}`,
    text: `SELECT id, status FROM ${table} WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
    values: [[]],
  };
  await client.query(`INSERT INTO ${table} (id) SELECT gen_random_uuid() FROM generate_series(1, 5)`);
  await client.query(lookup);
  await client.query(`INSERT INTO ${table} (id) SELECT gen_random_uuid() FROM generate_series(1, 20000)`);
  const { rows } = await client.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(
    `EXPLAIN (FORMAT JSON) EXECUTE "${lookup.name}"('{}')`,
  );
  const scans: string[] = [];
  const visit = (node: PlanNode) => {
    if (node["Node Type"].endsWith("Scan")) scans.push(node["Node Type"]);
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(rows[0]?.["QUERY PLAN"][0].Plan ?? { "Node Type": "none" });
  return scans;
}

interface PlanNode {
  readonly "Node Type": string;
  readonly Plans?: readonly PlanNode[];
}

describe("a service pool's connections", () => {
  test("keep looking rows up by index as a table grows past the plan made when it was small", async () => {
    // The hazard itself: with PostgreSQL's defaults, that plan reads the whole table.
    const plain = new pg.Client({ connectionString: db.url });
    await plain.connect();
    try {
      expect(await scansOfAPlanMadeOnASmallTable(plain, "plain_lookups")).toEqual(["Seq Scan"]);
    } finally {
      await plain.end();
    }

    const pool = createPool({ url: db.url, applicationName: "pool test", onError: () => {} });
    const client = await pool.connect();
    try {
      expect(await scansOfAPlanMadeOnASmallTable(client, "service_lookups")).toEqual(["Index Scan"]);
    } finally {
      client.release();
      await pool.end();
    }
  });

  test("commit asynchronously only when asked", async () => {
    const settingOf = async (pool: pg.Pool) => {
      const { rows } = await pool.query<{ synchronous_commit: string }>("SHOW synchronous_commit");
      await pool.end();
      return rows[0]?.synchronous_commit;
    };
    const options = { url: db.url, applicationName: "pool test", onError: () => {} };
    expect(await settingOf(createPool(options))).toBe("on");
    expect(await settingOf(createPool({ ...options, asynchronousCommit: true }))).toBe("off");
  });

  test("send a transaction's BEGIN with its first statement, which still runs inside the transaction", async () => {
    const pool = createPool({ url: db.url, applicationName: "pool test", onError: () => {} });
    try {
      await pool.query("CREATE TABLE pipelined (n int)");
      const inTransaction = await withTx(pool, async (tx) => {
        expect(tx.pipeline).toBe(true);
        const { rows } = await tx.query<{ in_transaction: boolean }>(
          "SELECT xact_start < query_start AS in_transaction FROM pg_stat_activity WHERE pid = pg_backend_pid()",
        );
        return rows[0]?.in_transaction;
      });
      expect(inTransaction).toBe(true);

      // Work that fails after writing leaves nothing behind: BEGIN did take effect.
      await expect(
        withTx(pool, async (tx) => {
          await tx.query("INSERT INTO pipelined VALUES (1)");
          throw new Error("work failed");
        }),
      ).rejects.toThrow("work failed");
      expect((await pool.query("SELECT count(*)::int AS n FROM pipelined")).rows[0].n).toBe(0);
    } finally {
      await pool.end();
    }
  });

  test("retry a deadlock met by a statement nothing waited for, though a later one failed because of it", async () => {
    const pool = createPool({ url: db.url, applicationName: "pool test", onError: () => {} });
    try {
      let attempts = 0;
      const result = await withTx(pool, async (tx) => {
        attempts++;
        const statement =
          attempts === 1 ? "DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$" : "SELECT 1";
        await awaitAtCommit(tx, tx.query(statement));
        // Fails with 25P02 (transaction aborted) in the first attempt.
        return (await tx.query("SELECT 2 AS n")).rows[0].n as number;
      });
      expect([attempts, result]).toEqual([2, 2]);
      // Not retryable: the first failure is what withTx throws, not the 25P02 after it.
      await expect(
        withTx(pool, async (tx) => {
          await awaitAtCommit(tx, tx.query("SELECT 1 / 0"));
          await tx.query("SELECT 2");
        }),
      ).rejects.toThrow("division by zero");
    } finally {
      await pool.end();
    }
  });

  test("run the effects registered with afterCommit once its COMMIT succeeded, and drop those of attempts rolled back", async () => {
    const pool = createPool({ url: db.url, applicationName: "pool test", onError: () => {} });
    try {
      const ran: string[] = [];
      let attempts = 0;
      await withTx(pool, async (tx) => {
        attempts++;
        afterCommit(tx, () => ran.push(`attempt ${attempts}`));
        // The first attempt deadlocks (retried); nothing it registered may run.
        const statement =
          attempts === 1 ? "DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$" : "SELECT 1";
        await awaitAtCommit(tx, tx.query(statement));
        // Not yet: COMMIT has not even been sent.
        expect(ran).toEqual([]);
      });
      expect(ran).toEqual(["attempt 2"]);

      // A transaction whose last statement fails at COMMIT time runs nothing.
      await expect(
        withTx(pool, async (tx) => {
          afterCommit(tx, () => ran.push("failed"));
          await awaitAtCommit(tx, tx.query("SELECT 1 / 0"));
        }),
      ).rejects.toThrow("division by zero");
      expect(ran).toEqual(["attempt 2"]);

      // An effect that throws changes nothing of what committed: withTx answers, the
      // later effects run, and the error becomes a process warning.
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => void warnings.push(warning);
      process.on("warning", onWarning);
      try {
        const answer = await withTx(pool, async (tx) => {
          afterCommit(tx, () => {
            throw new Error("effect failed");
          });
          afterCommit(tx, () => ran.push("after the failed one"));
          return "committed";
        });
        expect(answer).toBe("committed");
        expect(ran).toEqual(["attempt 2", "after the failed one"]);
        await waitFor(() => warnings.length === 1, { description: "the warning emitted" });
        expect(warnings[0]?.name).toBe("AfterCommitEffectWarning");
        expect(warnings[0]?.message).toMatch(/^an effect after COMMIT failed: Error: effect failed/);
      } finally {
        process.off("warning", onWarning);
      }

      // Outside withTx nothing says when the transaction commits.
      const own = await pool.connect();
      try {
        expect(() => afterCommit(own, () => ran.push("own"))).toThrow("withTx");
      } finally {
        own.release();
      }
    } finally {
      await pool.end();
    }
  });

  test("send COMMIT right behind a last statement nothing waits for, and commit only if it succeeds", async () => {
    const pool = createPool({ url: db.url, applicationName: "pool test", onError: () => {} });
    try {
      await pool.query("CREATE TABLE committed_behind (n int)");
      let answered = false;
      let answeredBeforeCommit: boolean | undefined;
      // The pool's one connection, which withTx will use: note whether the slow
      // statement had been answered when COMMIT was sent.
      const connection = await pool.connect();
      connection.release();
      const query = connection.query;
      connection.query = function (this: pg.PoolClient, ...args: unknown[]) {
        if (args[0] === "COMMIT") answeredBeforeCommit ??= answered;
        return Reflect.apply(query, this, args);
      } as typeof query;
      try {
        await withTx(pool, async (tx) => {
          const slow = tx.query("INSERT INTO committed_behind SELECT 1 FROM pg_sleep(0.2)");
          void slow.then(() => {
            answered = true;
          });
          await awaitAtCommit(tx, slow);
        });
      } finally {
        connection.query = query;
      }
      expect(answeredBeforeCommit).toBe(false);
      expect(answered).toBe(true);
      expect((await pool.query("SELECT count(*)::int AS n FROM committed_behind")).rows[0].n).toBe(1);

      // A last statement that fails fails the transaction, with its own error, and nothing commits.
      await expect(
        withTx(pool, async (tx) => {
          await tx.query("INSERT INTO committed_behind VALUES (2)");
          await awaitAtCommit(tx, tx.query("INSERT INTO committed_behind VALUES (1 / 0)"));
        }),
      ).rejects.toThrow("division by zero");
      expect((await pool.query("SELECT count(*)::int AS n FROM committed_behind")).rows[0].n).toBe(1);

      // Outside withTx it waits, as a plain await would.
      const own = await pool.connect();
      try {
        await own.query("BEGIN");
        await expect(awaitAtCommit(own, own.query("SELECT 1 / 0"))).rejects.toThrow("division by zero");
      } finally {
        await own.query("ROLLBACK");
        own.release();
      }
    } finally {
      await pool.end();
    }
  });
});

describe("a connection lost in the middle of a transaction", () => {
  test("fails the transaction with an error the services answer UNAVAILABLE, and the process carries on", async () => {
    const pool = createPool({ url: db.url, applicationName: "pool test terminated", max: 1, onError: () => {} });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const transaction = withTx(pool, async (tx) => {
        const { rows } = await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        // The server ends this backend while the statement below runs (a restart, a failover).
        void admin.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
        await tx.query("SELECT pg_sleep(30)");
      });
      // Unheard, the client's 'error' event would be an uncaught exception: Vitest fails the run on it.
      const error = await transaction.catch((failure: unknown) => failure);
      expect(isDatabaseUnavailable(error)).toBe(true);
      expect((await pool.query("SELECT 1 AS n")).rows[0].n).toBe(1);
    } finally {
      await admin.end();
      await pool.end();
    }
  });

  test("at the moment the pool hands the client to a waiter, before the waiter can listen, ends nothing", async () => {
    const pool = createPool({ url: db.url, applicationName: "pool test handed over", max: 1, onError: () => {} });
    try {
      const first = await pool.connect();
      const waiting = pool.connect();
      // The release hands the client over at once; what the same socket read brings next
      // (the server ending the connection) comes before the waiter's code runs.
      first.release();
      expect(() => first.emit("error", new Error("terminating connection due to administrator command"))).not.toThrow();
      const second = await waiting;
      expect(second).toBe(first);
      second.release();
      expect((await pool.query("SELECT 1 AS n")).rows[0].n).toBe(1);
    } finally {
      await pool.end();
    }
  });

  test("between two statements fails the next one as unavailable too", async () => {
    const pool = createPool({ url: db.url, applicationName: "pool test idle", max: 1, onError: () => {} });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const error = await withTx(pool, async (tx) => {
        const { rows } = await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        const ended = new Promise((resolve) => tx.once("error", resolve));
        await admin.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
        // The client has seen its connection end before the work sends its next statement.
        await ended;
        await tx.query("SELECT 2");
      }).catch((failure: unknown) => failure);
      expect(isDatabaseUnavailable(error)).toBe(true);
      expect((await pool.query("SELECT 1 AS n")).rows[0].n).toBe(1);
    } finally {
      await admin.end();
      await pool.end();
    }
  });

  test("that the network stops carrying gives up after the answer timeout and serves again on a new connection", async () => {
    const proxy = await startTcpProxy(db.url);
    const pool = createPool({
      url: proxy.url,
      applicationName: "pool test silenced",
      max: 1,
      answerTimeoutMs: 500,
      onError: () => {},
    });
    try {
      await pool.query("SELECT 1");
      proxy.silence();
      // Without the answer timeout this waits until TCP gives up on the connection, ~15 minutes.
      const error = await withTx(pool, (tx) => tx.query("SELECT 2")).catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(Error);
      expect(isDatabaseUnavailable(error)).toBe(true);
      // The silent connection was dropped, not handed to the next caller.
      expect((await pool.query("SELECT 3 AS n")).rows[0].n).toBe(3);
      expect(pool.totalCount).toBe(1);
    } finally {
      await pool.end();
      await proxy.close();
    }
  });
});

describe("a statement past its statement timeout", () => {
  test("a statement the server cancels at the pool's statement timeout is unavailability, which callers wait out", async () => {
    const pool = createPool({
      url: db.url,
      applicationName: "pool test statement timeout",
      max: 1,
      statementTimeoutMs: 50,
      onError: () => {},
    });
    try {
      const error = await pool.query("SELECT pg_sleep(1)").catch((failure: unknown) => failure);
      expect(error).toMatchObject({ code: "57014" });
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      await pool.end();
    }
  });
});

// The request a statement belongs to, as OpenTelemetry's context manager keeps it (the
// SQL spans' parent, the trace id of log lines): an AsyncLocalStorage.
describe("the async context of a pool's work", () => {
  const request = new AsyncLocalStorage<string>();

  test("a query that waits for a connection is sent in its caller's context, not in that of the caller that released it", async () => {
    const pool = createPool({ url: db.url, applicationName: "pool test context", max: 1, onError: () => {} });
    const sentIn: (string | undefined)[] = [];
    // Where the pg instrumentation looks for the statement's parent span.
    pool.on("connect", (client) => {
      const query = client.query;
      client.query = function (this: pg.PoolClient, ...args: Parameters<typeof query>) {
        sentIn.push(request.getStore());
        return query.apply(this, args);
      } as typeof query;
    });
    try {
      await Promise.all(
        ["first", "second", "third"].map((name) => request.run(name, () => pool.query("SELECT pg_sleep(0.01)"))),
      );
      expect(sentIn).toEqual(["first", "second", "third"]);
    } finally {
      await pool.end();
    }
  });

  test("an idle connection's error is reported outside the context of the call that opened the connection", async () => {
    const reportedIn: (string | undefined)[] = [];
    const pool = createPool({
      url: db.url,
      applicationName: "pool test idle context",
      max: 1,
      onError: () => reportedIn.push(request.getStore()),
    });
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      const { rows } = await request.run("a finished call", () =>
        pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid"),
      );
      await admin.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
      await waitFor(() => reportedIn.length > 0, { timeoutMs: 5_000, description: "the idle connection's error" });
      expect(reportedIn).toEqual([undefined]);
    } finally {
      await admin.end();
      await pool.end();
    }
  });
});
