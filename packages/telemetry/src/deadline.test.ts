import { describe, expect, it } from "vitest";
import { cancelledAtDeadline, requestTimeoutMs } from "./deadline.js";

describe("requestTimeoutMs", () => {
  const connect = (timeout: Record<string, string>) => new Headers({ "content-type": "application/json", ...timeout });
  const grpcWeb = (timeout: Record<string, string>) =>
    new Headers({ "content-type": "application/grpc-web+proto", ...timeout });

  it("reads a Connect request's connect-timeout-ms and a gRPC-Web request's grpc-timeout, in ms", () => {
    expect(requestTimeoutMs(connect({ "connect-timeout-ms": "300" }))).toBe(300);
    expect(requestTimeoutMs(grpcWeb({ "grpc-timeout": "2S" }))).toBe(2_000);
    expect(requestTimeoutMs(grpcWeb({ "grpc-timeout": "1M" }))).toBe(60_000);
    expect(requestTimeoutMs(grpcWeb({ "grpc-timeout": "1500u" }))).toBe(1.5);
    expect(requestTimeoutMs(grpcWeb({ "grpc-timeout": "250m" }))).toBe(250);
  });

  it("is undefined without a timeout, with one that is malformed, or with another protocol's", () => {
    expect(requestTimeoutMs(connect({}))).toBeUndefined();
    expect(requestTimeoutMs(connect({ "connect-timeout-ms": "-1" }))).toBeUndefined();
    expect(requestTimeoutMs(connect({ "connect-timeout-ms": "12345678901" }))).toBeUndefined();
    expect(requestTimeoutMs(grpcWeb({ "grpc-timeout": "300" }))).toBeUndefined();
    expect(requestTimeoutMs(grpcWeb({ "grpc-timeout": "123456789S" }))).toBeUndefined();
    expect(requestTimeoutMs(connect({ "grpc-timeout": "2S" }))).toBeUndefined();
    expect(requestTimeoutMs(grpcWeb({ "connect-timeout-ms": "300" }))).toBeUndefined();
  });
});

describe("cancelledAtDeadline", () => {
  it("takes a cancellation within 20 ms before the deadline, or after it, for the deadline", () => {
    expect(cancelledAtDeadline(1_000, 1_010)).toBe(true);
    expect(cancelledAtDeadline(1_100, 1_010)).toBe(true);
    expect(cancelledAtDeadline(900, 1_010)).toBe(false);
  });
});
