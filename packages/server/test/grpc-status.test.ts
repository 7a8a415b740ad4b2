import { Code, ConnectError } from "@connectrpc/connect";
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { BadRequestSchema, ErrorInfoSchema } from "@shopmesh/gen/google/rpc/error_details_pb.js";
import { describe, expect, it } from "vitest";
import { fromGrpcServiceError, toGrpcServiceError } from "../src/grpc-status.js";

describe("gRPC status and ConnectError", () => {
  it("carries the code, the message and every error detail from a server to its grpc-js caller", () => {
    const refused = new ConnectError("the items cost nothing", Code.FailedPrecondition, undefined, [
      { desc: ErrorInfoSchema, value: { reason: "ORDER_NOTHING_TO_CHARGE", domain: "order.shopmesh" } },
      { desc: BadRequestSchema, value: { fieldViolations: [{ field: "items", description: "free" }] } },
    ]);
    const received = fromGrpcServiceError(toGrpcServiceError(refused));
    expect(received.code).toBe(Code.FailedPrecondition);
    expect(received.rawMessage).toBe("the items cost nothing");
    expect(received.findDetails(ErrorInfoSchema)[0]).toMatchObject({
      reason: "ORDER_NOTHING_TO_CHARGE",
      domain: "order.shopmesh",
    });
    expect(received.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe("items");
  });

  it("keeps the code and message of a status whose details cannot be read", () => {
    const metadata = new Metadata();
    metadata.set("grpc-status-details-bin", Buffer.from([0xff, 0xff, 0xff]));
    const error: ServiceError = Object.assign(new Error("no"), {
      code: status.UNAVAILABLE,
      details: "try later",
      metadata,
    });
    const received = fromGrpcServiceError(error);
    expect([received.code, received.rawMessage, received.details]).toEqual([Code.Unavailable, "try later", []]);
  });
});
