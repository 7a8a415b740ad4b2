import type pg from "pg";

/** SQLSTATEs after which the whole transaction may simply be run again. */
const retryable = new Set(["40001", "40P01"]);

/** The clients withTx hands its work, with every statement issued through them. */
const statementsOf = new WeakMap<pg.PoolClient, Promise<unknown>[]>();

/** The clients withTx hands its work, with the effects registered to follow its COMMIT. */
const effectsOf = new WeakMap<pg.PoolClient, (() => void)[]>();

/**
 * Runs `work` in a transaction on one pooled client: COMMIT when it resolves,
 * ROLLBACK when it throws. A serialization failure or deadlock (40001, 40P01) is
 * retried from the start, up to `attempts` times in all.
 *
 * Neither BEGIN nor, with {@link awaitAtCommit}, the work's last statement is waited
 * for: on a pipelining client (every pool from {@link createPool}) BEGIN goes out with
 * the work's first statement and COMMIT right behind its last, two round trips fewer
 * per transaction. Every statement the work issued must still succeed before the
 * transaction counts as committed; the first failure is what withTx throws, even one
 * the work caught (so work that recovers from a failed statement with a savepoint
 * does not belong in withTx). After a failed statement PostgreSQL answers the COMMIT
 * behind it with ROLLBACK.
 *
 * Effects the work registers with {@link afterCommit} run once, after the COMMIT of
 * the attempt that registered them succeeded; those of an attempt rolled back (or
 * retried) are dropped.
 */
export async function withTx<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    // A connection that breaks while checked out (the server restarted, or the pool's
    // answer timeout gave up on it) reports it as an 'error' event: unheard, that event
    // would end the process. Its statements fail anyway; the client is then discarded.
    let broken: Error | undefined;
    const onBroken = (error: Error) => {
      broken ??= error;
    };
    client.on("error", onBroken);
    const issued: Promise<unknown>[] = [];
    const effects: (() => void)[] = [];
    const tx = tracking(client, issued, effects);
    let result: T;
    try {
      void tx.query("BEGIN");
      result = await work(tx);
      const committed = client.query("COMMIT");
      committed.catch(() => undefined); // awaited below unless a statement failed
      await Promise.all(issued);
      const { command } = await committed;
      if (command !== "COMMIT") throw new Error(`the transaction ended with ${command}, not COMMIT`);
    } catch (error) {
      // The first statement that failed is the cause: later ones only say that the
      // transaction was aborted (25P02), and the work may have caught it.
      const cause = (await firstFailure(issued)) ?? error;
      // A connection whose ROLLBACK failed may still be inside the transaction: it must
      // not serve anyone else.
      await client.query("ROLLBACK").catch((rollbackError: Error) => {
        broken ??= rollbackError;
      });
      if (attempt >= attempts || !isRetryable(cause)) throw cause;
      continue;
    } finally {
      client.off("error", onBroken);
      client.release(broken);
    }
    // What committed stands whatever an effect does: one that throws is reported as a
    // process warning, and neither fails the work (a consumer would retry an event it
    // applied) nor keeps the later effects from running.
    for (const effect of effects) {
      try {
        effect();
      } catch (error) {
        const reason = error instanceof Error ? (error.stack ?? error.message) : String(error);
        process.emitWarning(`an effect after COMMIT failed: ${reason}`, "AfterCommitEffectWarning");
      }
    }
    return result;
  }
}

/**
 * Runs `effect` once the transaction of `tx` (a client {@link withTx} handed its work)
 * has committed, and never if it rolls back or is retried: for what only a committed
 * change makes true — counting a confirmed order, say — where the work may be rolled
 * back after it ran (a failed COMMIT, a retried deadlock, a consumer batch applied
 * again event by event). Effects run in the order registered, before withTx returns;
 * one that throws is reported as a process warning (`AfterCommitEffectWarning`) and
 * changes nothing else: the transaction committed.
 *
 * Outside withTx nothing says when (or whether) the transaction commits, so it throws
 * rather than run the effect too early.
 */
export function afterCommit(tx: pg.ClientBase, effect: () => void): void {
  const effects = effectsOf.get(tx as pg.PoolClient);
  if (!effects) throw new Error("afterCommit needs a client withTx handed its work");
  effects.push(effect);
}

/** Whether `client` is one {@link withTx} handed its work (so {@link afterCommit} applies to it). */
export function isWithTxClient(client: object): client is pg.PoolClient {
  return effectsOf.has(client as pg.PoolClient);
}

/**
 * Lets a statement the work does not need the answer of go unwaited inside
 * {@link withTx}: COMMIT follows it in the same round trip, and withTx fails the
 * transaction if it fails. Outside withTx (a client in a transaction of its own) it
 * waits for the statement, as a plain `await` would.
 *
 * ```ts
 * const orders = await lockOrders(tx, orderIds);                   // needed to decide
 * await awaitAtCommit(tx, applyTransitions(tx, changes, events));  // not needed
 * ```
 */
export async function awaitAtCommit(tx: pg.ClientBase, statement: Promise<unknown>): Promise<void> {
  const issued = statementsOf.get(tx as pg.PoolClient);
  if (!issued) {
    await statement;
    return;
  }
  statement.catch(() => undefined); // withTx awaits it, unless the work failed first
  issued.push(statement);
}

/** The error of the first of `statements` (in the order issued) that failed, if any did. */
async function firstFailure(statements: readonly Promise<unknown>[]): Promise<unknown> {
  const settled = await Promise.allSettled(statements);
  const failed = settled.find((outcome) => outcome.status === "rejected");
  return failed?.status === "rejected" ? failed.reason : undefined;
}

/**
 * The client, recording each statement issued through it (kept from unhandled
 * rejections: withTx awaits them) and holding the effects registered for after COMMIT.
 */
function tracking(client: pg.PoolClient, issued: Promise<unknown>[], effects: (() => void)[]): pg.PoolClient {
  const query = (...args: unknown[]) => {
    const answer: unknown = Reflect.apply(client.query, client, args);
    if (answer instanceof Promise) {
      answer.catch(() => undefined);
      issued.push(answer);
    }
    return answer;
  };
  const tx = new Proxy(client, {
    get: (target, property, receiver) => (property === "query" ? query : Reflect.get(target, property, receiver)),
  });
  statementsOf.set(tx, issued);
  effectsOf.set(tx, effects);
  return tx;
}

/** Whether a pg error is a serialization failure or a deadlock. */
export function isRetryable(error: unknown): boolean {
  return retryable.has((error as { code?: string } | null)?.code ?? "");
}
