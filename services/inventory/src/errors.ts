import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";

/** The expected failures of the inventory use cases, each with a stable code. */
export type InventoryErrorCode =
  | "CATALOG.INVALID_PAGE_TOKEN"
  | "CATALOG.PRODUCT_NOT_FOUND"
  | "STOCK.UNKNOWN_SKU"
  | "STOCK.BELOW_RESERVED"
  | "STOCK.ORDER_MISMATCH"
  | "STOCK.CHANGED"
  | "STOCK.INVALID_REQUEST";

/** An expected failure of a use case; `code` is stable, the message is for people. */
export class InventoryError extends Error {
  override name = "InventoryError";

  constructor(
    readonly code: InventoryErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const connectCodes: Record<InventoryErrorCode, Code> = {
  "CATALOG.INVALID_PAGE_TOKEN": Code.InvalidArgument,
  "CATALOG.PRODUCT_NOT_FOUND": Code.NotFound,
  "STOCK.UNKNOWN_SKU": Code.NotFound,
  "STOCK.BELOW_RESERVED": Code.FailedPrecondition,
  "STOCK.ORDER_MISMATCH": Code.AlreadyExists,
  "STOCK.CHANGED": Code.Aborted,
  "STOCK.INVALID_REQUEST": Code.InvalidArgument,
};

/**
 * The one place inventory failures become RPC errors: the status code from the table
 * above, and the stable code as a google.rpc.ErrorInfo reason. Anything else is
 * returned unchanged for the server's error interceptor (logged, INTERNAL).
 */
export function toConnectError(error: unknown): unknown {
  if (!(error instanceof InventoryError)) return error;
  const info = { desc: ErrorInfoSchema, value: { reason: error.code, domain: "inventory.shopmesh" } };
  return new ConnectError(error.message, connectCodes[error.code], undefined, [info], error);
}
