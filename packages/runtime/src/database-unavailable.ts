import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { isDatabaseUnavailable } from "@shopmesh/pg";

/**
 * Answers UNAVAILABLE when a handler failed because the database could not take the
 * work (saturated pool, restarting server): the caller may retry, with its idempotency
 * key where the RPC has one. Without this such a failure would be an opaque INTERNAL,
 * which clients must not retry. The cause is kept for the logs, not sent.
 */
export function createDatabaseUnavailableInterceptor(): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      throw new ConnectError(
        "the service's database is busy or unavailable; retry shortly",
        Code.Unavailable,
        undefined,
        undefined,
        error,
      );
    }
  };
}
