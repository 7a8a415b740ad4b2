import { Code } from "@connectrpc/connect";
import type { Attributes } from "@opentelemetry/api";

/** OpenTelemetry's RPC attributes of a call (semantic conventions for RPC). */
export function rpcAttributes(system: RpcSystem, service: string, method: string): Attributes {
  return { "rpc.system": system, "rpc.service": service, "rpc.method": method };
}

/** `grpc` for gRPC and gRPC-Web, `connect_rpc` for the Connect protocol. */
export type RpcSystem = "grpc" | "connect_rpc";

/**
 * The semantic conventions' names of Connect error codes (`rpc.connect_rpc.error_code`):
 * the protocol's snake_case names, but "cancelled" where Connect writes "canceled".
 */
const connectErrorCodes: Record<Code, string> = {
  [Code.Canceled]: "cancelled",
  [Code.Unknown]: "unknown",
  [Code.InvalidArgument]: "invalid_argument",
  [Code.DeadlineExceeded]: "deadline_exceeded",
  [Code.NotFound]: "not_found",
  [Code.AlreadyExists]: "already_exists",
  [Code.PermissionDenied]: "permission_denied",
  [Code.ResourceExhausted]: "resource_exhausted",
  [Code.FailedPrecondition]: "failed_precondition",
  [Code.Aborted]: "aborted",
  [Code.OutOfRange]: "out_of_range",
  [Code.Unimplemented]: "unimplemented",
  [Code.Internal]: "internal",
  [Code.Unavailable]: "unavailable",
  [Code.DataLoss]: "data_loss",
  [Code.Unauthenticated]: "unauthenticated",
};

/**
 * The status attributes of a finished call, `code` undefined when it succeeded: the
 * gRPC status code (Connect codes are the same numbers) and, for a Connect call that
 * failed, its error code.
 */
export function rpcStatusAttributes(system: RpcSystem, code: Code | undefined): Attributes {
  return system === "connect_rpc" && code !== undefined
    ? { "rpc.grpc.status_code": code, "rpc.connect_rpc.error_code": connectErrorCodes[code] }
    : { "rpc.grpc.status_code": code ?? 0 };
}
