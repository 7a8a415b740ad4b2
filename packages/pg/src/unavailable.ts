/**
 * SQLSTATE classes and codes that say the server cannot take the work now, not that
 * the work is wrong: connection exceptions (08), too many connections (53300), a lock
 * not granted within `lock_timeout` (55P03), a statement cancelled at its
 * `statement_timeout` (57014: a saturated server, as the client's own answer timeout
 * says too), and a server shutting down or starting up (57P01–57P03).
 */
const unavailableStates = new Set(["53300", "55P03", "57014", "57P01", "57P02", "57P03"]);

/** Unavailability of what one statement touches, not of the database: a lock, a statement's time. */
const statementStates = new Set(["55P03", "57014"]);

/** Socket errors of a database that is down or restarting. */
const socketErrors = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND"]);

/**
 * Whether an error means the database is unavailable or saturated — the same request
 * may succeed shortly — rather than that the request failed: no pooled connection
 * within the pool's acquire timeout, a lock held elsewhere past `lock_timeout`, a
 * statement past `statement_timeout`, a refused or broken connection, or a server that
 * is shutting down, starting or out of connections. Consumers wait these out (they do
 * not count towards an event's attempts) instead of dead-lettering the event. RPCs answer these as UNAVAILABLE, which clients retry (with their
 * idempotency key); anything else stays an internal error.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (unavailableStates.has(code) || code.startsWith("08") || socketErrors.has(code))) {
    return true;
  }
  // node-postgres gives these no code: pg-pool's acquire timeout, a statement not
  // answered within the pool's answer timeout, a client whose connection ended under it,
  // and a statement issued on one whose connection had ended (between two statements).
  return (
    error.message === "timeout exceeded when trying to connect" ||
    error.message === "Query read timeout" ||
    error.message === "Connection terminated unexpectedly" ||
    error.message === "Client has encountered a connection error and is not queryable" ||
    error.message === "Connection terminated due to connection timeout"
  );
}

/**
 * Whether an error means the database as a whole cannot take work now — unreachable,
 * restarting, out of connections, no pooled connection in time — so that every other
 * statement would fail the same way. A lock not granted within `lock_timeout` (55P03)
 * or a statement past `statement_timeout` (57014) is unavailability too, but of what
 * one statement touches, not of the database.
 */
export function isDatabaseUnreachable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return isDatabaseUnavailable(error) && !(typeof code === "string" && statementStates.has(code));
}

/**
 * Whether an error means the database is down or cannot be reached — a refused, broken
 * or timed-out connection, a statement its connection never answered, a server shutting
 * down or starting — rather than saturated: out of connections (53300), or no pooled
 * connection free in time. A saturated database answers the work that has a connection;
 * one that is down answers nothing until it is back, which is worth waiting for idle.
 */
export function isDatabaseDown(error: unknown): boolean {
  if (!isDatabaseUnreachable(error)) return false;
  const code = (error as { code?: unknown }).code;
  return code !== "53300" && (error as Error).message !== "timeout exceeded when trying to connect";
}
