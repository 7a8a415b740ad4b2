import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { isDatabaseUnavailable } from "@shopmesh/pg";
import { mapHandlerErrors } from "@shopmesh/server";

/**
 * Answers UNAVAILABLE when a handler failed because the database could not take the
 * work (saturated pool, restarting server): the caller may retry, with its idempotency
 * key where the RPC has one — a watcher re-subscribes. Without this such a failure would
 * be an opaque INTERNAL, which clients must not retry. The cause is kept for the logs,
 * not sent. Streams too: WatchOrder reads the order as its messages are pulled.
 */
export function createDatabaseUnavailableInterceptor(): Interceptor {
  return mapHandlerErrors((error) =>
    isDatabaseUnavailable(error)
      ? new ConnectError(
          "the service's database is busy or unavailable; retry shortly",
          Code.Unavailable,
          undefined,
          undefined,
          error,
        )
      : error,
  );
}
