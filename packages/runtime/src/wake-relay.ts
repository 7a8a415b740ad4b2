import { MethodOptions_IdempotencyLevel as IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { Interceptor } from "@connectrpc/connect";
import type { Outbox } from "@shopmesh/events";

/**
 * Wakes the outbox relay after every successful RPC that may have written (any not
 * marked NO_SIDE_EFFECTS in its contract), so events a handler committed are
 * published at once — whichever use case wrote them.
 */
export function createWakeRelayInterceptor(outbox: Outbox): Interceptor {
  return (next) => async (req) => {
    const res = await next(req);
    if (req.method.idempotency !== IdempotencyLevel.NO_SIDE_EFFECTS) outbox.committed();
    return res;
  };
}
