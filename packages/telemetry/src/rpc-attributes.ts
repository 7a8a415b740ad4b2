import type { Attributes } from "@opentelemetry/api";

/** OpenTelemetry's RPC attributes of a call (semantic conventions for RPC). */
export function rpcAttributes(system: RpcSystem, service: string, method: string): Attributes {
  return { "rpc.system": system, "rpc.service": service, "rpc.method": method };
}

/** `grpc` for gRPC and gRPC-Web, `connect_rpc` for the Connect protocol. */
export type RpcSystem = "grpc" | "connect_rpc";

/**
 * The status attributes of a finished call: the gRPC status code (Connect codes are
 * the same numbers) and, for Connect, its error code name.
 */
export function rpcStatusAttributes(system: RpcSystem, code: number, codeName: string | undefined): Attributes {
  return system === "connect_rpc" && codeName
    ? { "rpc.grpc.status_code": code, "rpc.connect_rpc.error_code": codeName }
    : { "rpc.grpc.status_code": code };
}
