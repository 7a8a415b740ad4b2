import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { requestTimeoutMs } from "@shopmesh/telemetry";
import type { Logger } from "pino";

/**
 * Makes sure nothing unexpected leaves a handler as UNKNOWN or leaks internals:
 * ConnectErrors pass unchanged (they were coded on purpose at an edge); anything
 * else is logged with its cause and answered as INTERNAL with a generic message.
 *
 * A unary answer made after its call was aborted (past its deadline, its client
 * gone, the server forced to stop) is not sent, success or error, on either listener:
 * the caller is told why the call was aborted — the status the telemetry records, and
 * what grpc-js's own deadline timer answers. connect-node would send the late answer
 * (an UNAVAILABLE from a downstream call the deadline cut short, say). An answer ready
 * after the call's deadline is DEADLINE_EXCEEDED even before the signal says so: its
 * timer fires late on a busy event loop.
 */
export function createErrorInterceptor(logger: Logger): Interceptor {
  const normalized = mapHandlerErrors((error, rpc) => normalizeError(error, logger, rpc));
  return (next) =>
    normalized(async (req) => {
      const started = performance.now();
      const timeoutMs = requestTimeoutMs(req.header);
      const aborted = () => {
        if (req.signal.aborted) return ConnectError.from(req.signal.reason);
        if (timeoutMs !== undefined && performance.now() >= started + timeoutMs) return deadlinePassed;
        return undefined;
      };
      let res: Awaited<ReturnType<typeof next>>;
      try {
        res = await next(req);
      } catch (error) {
        const late = !req.stream && aborted();
        if (!late) throw error;
        // Told the abort's status, the caller; logged all the same, a fault of ours.
        normalizeError(error, logger, `${req.service.typeName}/${req.method.name}`);
        throw late;
      }
      if (res.stream) return res;
      const late = aborted();
      if (late) throw late;
      return res;
    });
}

const deadlinePassed = new ConnectError("the deadline passed before the answer was ready", Code.DeadlineExceeded);

/**
 * An interceptor that maps what a handler throws ("Service/Method" tells which):
 * before it answers, and between the messages it streams — a server stream's
 * handler runs while its messages are read, after the interceptors have returned.
 */
export function mapHandlerErrors(map: (error: unknown, rpc: string) => unknown): Interceptor {
  return (next) => async (req) => {
    const rpc = `${req.service.typeName}/${req.method.name}`;
    try {
      const res = await next(req);
      if (!res.stream) return res;
      const messages = res.message;
      async function* mapped() {
        try {
          yield* messages;
        } catch (error) {
          throw map(error, rpc);
        }
      }
      return { ...res, message: mapped() };
    } catch (error) {
      throw map(error, rpc);
    }
  };
}

/**
 * Keeps coded errors; turns anything else into a logged, opaque INTERNAL error. A
 * server stream's request that is not a message is the client's error, INVALID_ARGUMENT
 * as on the gRPC listener: connect-es codes its parse failure INTERNAL, and such a
 * request is parsed while its handler runs, so it reaches this interceptor. A unary
 * request's is parsed before any interceptor, and connect-node answers it INTERNAL
 * itself — the one difference left between the listeners (decision 0001).
 */
export function normalizeError(error: unknown, logger: Logger, rpc: string): ConnectError {
  if (error instanceof ConnectError && error.code === Code.Internal && error.rawMessage.startsWith("parse binary:")) {
    return new ConnectError(`malformed request: ${error.rawMessage}`, Code.InvalidArgument);
  }
  if (error instanceof ConnectError) return error;
  const coded = ConnectError.from(error);
  if (coded.code === Code.Canceled || coded.code === Code.DeadlineExceeded) return coded;
  logger.error({ err: error, rpc }, "unexpected error in handler");
  return new ConnectError("internal error", Code.Internal, undefined, undefined, error);
}
