import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { status as GrpcStatus, Metadata, ServiceError } from "@grpc/grpc-js";
import { StatusSchema } from "@shopmesh/gen/google/rpc/status_pb.js";
import { grpcMetadata } from "./grpc-metadata.js";

const typeUrlPrefix = "type.googleapis.com/";

/**
 * Turns any error into the status a grpc-js server sends: the Connect code (whose
 * numbers are gRPC's), the message, and the error details as a google.rpc.Status
 * in `grpc-status-details-bin`, exactly as connect-node's gRPC protocol does.
 */
export function toGrpcServiceError(error: unknown, trailer?: Headers): ServiceError {
  const connectError = ConnectError.from(error);
  const metadata: Metadata = grpcMetadata(connectError.metadata, trailer);
  if (connectError.details.length > 0) {
    const status = create(StatusSchema, {
      code: connectError.code,
      message: connectError.rawMessage,
      details: connectError.details.map((detail) =>
        "desc" in detail
          ? anyPack(detail.desc, create(detail.desc, detail.value))
          : { typeUrl: typeUrlPrefix + detail.type, value: detail.value },
      ),
    });
    metadata.set("grpc-status-details-bin", Buffer.from(toBinary(StatusSchema, status)));
  }
  return Object.assign(new Error(connectError.rawMessage), {
    code: connectError.code as number as GrpcStatus,
    details: connectError.rawMessage,
    metadata,
  });
}

/**
 * The ConnectError a grpc-js client's failed call stands for: its code, its message,
 * its string metadata, and the error details of its `grpc-status-details-bin` (what
 * {@link toGrpcServiceError} and every gRPC server send), for `findDetails`.
 */
export function fromGrpcServiceError(error: ServiceError): ConnectError {
  const metadata = new Headers();
  let details: { type: string; value: Uint8Array }[] = [];
  for (const [key, value] of Object.entries(error.metadata?.getMap() ?? {})) {
    if (typeof value === "string") metadata.set(key, value);
    else if (key === "grpc-status-details-bin") details = detailsOf(value);
  }
  const connectError = new ConnectError(
    error.details || error.message,
    (error.code as number as Code) ?? Code.Unknown,
    metadata,
  );
  // Incoming details, as connect-node's own gRPC transport keeps them: read with findDetails.
  connectError.details = details;
  return connectError;
}

function detailsOf(statusBytes: Uint8Array): { type: string; value: Uint8Array }[] {
  try {
    return fromBinary(StatusSchema, statusBytes).details.map(({ typeUrl, value }) => ({
      type: typeUrl.slice(typeUrl.lastIndexOf("/") + 1),
      value,
    }));
  } catch {
    return []; // a malformed status says nothing more than its code and message
  }
}
