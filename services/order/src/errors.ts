import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";

/** Stable reasons the order service refuses a request, sent as google.rpc.ErrorInfo. */
export type OrderErrorReason =
  | "ORDER_NOT_FOUND"
  | "ORDER_IDEMPOTENCY_KEY_REUSED"
  | "ORDER_UNKNOWN_SKU"
  | "ORDER_MIXED_CURRENCIES"
  | "ORDER_NOTHING_TO_CHARGE"
  | "ORDER_TOTAL_TOO_LARGE"
  | "ORDER_NOT_CANCELLABLE"
  | "ORDER_INVALID_PAGE_TOKEN"
  | "ORDER_INVENTORY_UNAVAILABLE";

const codes: Record<OrderErrorReason, Code> = {
  ORDER_NOT_FOUND: Code.NotFound,
  ORDER_IDEMPOTENCY_KEY_REUSED: Code.AlreadyExists,
  ORDER_UNKNOWN_SKU: Code.NotFound,
  ORDER_MIXED_CURRENCIES: Code.FailedPrecondition,
  ORDER_NOTHING_TO_CHARGE: Code.FailedPrecondition,
  ORDER_TOTAL_TOO_LARGE: Code.FailedPrecondition,
  ORDER_NOT_CANCELLABLE: Code.FailedPrecondition,
  ORDER_INVALID_PAGE_TOKEN: Code.InvalidArgument,
  ORDER_INVENTORY_UNAVAILABLE: Code.Unavailable,
};

/** A request the order domain refuses, with a stable reason and facts for the caller. */
export class OrderError extends Error {
  override name = "OrderError";
  constructor(
    readonly reason: OrderErrorReason,
    message: string,
    readonly facts: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Maps domain errors to their RPC code with an ErrorInfo detail; other errors pass unchanged. */
export function toRpcError(error: unknown): unknown {
  if (!(error instanceof OrderError)) return error;
  return new ConnectError(error.message, codes[error.reason], undefined, [
    { desc: ErrorInfoSchema, value: { reason: error.reason, domain: "order.shopmesh", metadata: error.facts } },
  ]);
}
