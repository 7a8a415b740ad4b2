import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { PaymentError, type PaymentErrorCode } from "./payment.js";
import { TransientProviderError } from "./payment-provider.js";

const codes: Record<PaymentErrorCode, Code> = {
  "PAYMENT.INVALID_CHARGE": Code.InvalidArgument,
  "PAYMENT.AMOUNT_MISMATCH": Code.AlreadyExists,
  "PAYMENT.ORDER_CANCELLED": Code.FailedPrecondition,
  "PAYMENT.NOT_CAPTURED": Code.FailedPrecondition,
  "PAYMENT.NOT_FOUND": Code.NotFound,
};

/**
 * The one place payment failures become RPC errors: a PaymentError keeps its stable
 * code as a google.rpc.ErrorInfo reason; a transient provider failure is UNAVAILABLE
 * (safe to retry: charges and refunds are idempotent per order). Anything else is
 * left to the server's error interceptor (INTERNAL, logged).
 */
export function toConnectError(error: unknown): unknown {
  if (error instanceof PaymentError) {
    const info = { desc: ErrorInfoSchema, value: { reason: error.code, domain: "payment.shopmesh" } };
    return new ConnectError(error.message, codes[error.code], undefined, [info], error);
  }
  if (error instanceof TransientProviderError) {
    return new ConnectError(
      "the payment provider is unavailable; retry",
      Code.Unavailable,
      undefined,
      undefined,
      error,
    );
  }
  return error;
}
