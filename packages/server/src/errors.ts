import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";

/**
 * Makes sure nothing unexpected leaves a handler as UNKNOWN or leaks internals:
 * ConnectErrors pass unchanged (they were coded on purpose at an edge); anything
 * else is logged with its cause and answered as INTERNAL with a generic message.
 * Applies to errors thrown before the first and between streamed messages.
 */
export function createErrorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const rpc = `${req.service.typeName}/${req.method.name}`;
    try {
      const res = await next(req);
      if (!res.stream) return res;
      const messages = res.message;
      async function* guarded() {
        try {
          yield* messages;
        } catch (error) {
          throw normalizeError(error, logger, rpc);
        }
      }
      return { ...res, message: guarded() };
    } catch (error) {
      throw normalizeError(error, logger, rpc);
    }
  };
}

/** Keeps coded errors; turns anything else into a logged, opaque INTERNAL error. */
export function normalizeError(error: unknown, logger: Logger, rpc: string): ConnectError {
  if (error instanceof ConnectError) return error;
  const coded = ConnectError.from(error);
  if (coded.code === Code.Canceled || coded.code === Code.DeadlineExceeded) return coded;
  logger.error({ err: error, rpc }, "unexpected error in handler");
  return new ConnectError("internal error", Code.Internal, undefined, undefined, error);
}
