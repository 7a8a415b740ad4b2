import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";

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

  /**
   * @param field the request field at fault (its proto name, such as `page_token`), for
   * an INVALID_ARGUMENT: it is answered as a google.rpc.BadRequest field violation, as a
   * request that breaks the contract's rules is.
   */
  constructor(
    readonly code: InventoryErrorCode,
    message: string,
    readonly field?: string,
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
  const fieldViolations = error.field ? [{ field: error.field, description: error.message, reason: error.code }] : [];
  const details = fieldViolations.length > 0 ? [info, { desc: BadRequestSchema, value: { fieldViolations } }] : [info];
  return new ConnectError(error.message, connectCodes[error.code], undefined, details, error);
}
