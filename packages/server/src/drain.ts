import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * Ends server streams (watches) when the server starts shutting down, with
 * UNAVAILABLE so clients reconnect to another replica, while unary calls in flight
 * are left to finish.
 */
export function createStreamDrainInterceptor(draining: AbortSignal): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) return next(req);
    const res = await next({ ...req, signal: AbortSignal.any([req.signal, draining]) });
    if (!res.stream) return res;
    const messages = res.message;
    async function* untilDrained() {
      yield* messages;
      if (draining.aborted) throw new ConnectError("server is shutting down", Code.Unavailable);
    }
    return { ...res, message: untilDrained() };
  };
}
