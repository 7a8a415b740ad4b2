import { create, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
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
