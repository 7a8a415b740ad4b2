import { describe, expect, it } from "vitest";
import { cancelledAtDeadline, requestTimeoutMs } from "./deadline.js";

describe("requestTimeoutMs", () => {
  it("reads a Connect request's connect-timeout-ms and a gRPC-Web request's grpc-timeout, in ms", () => {
    expect(requestTimeoutMs(new Headers({ "connect-timeout-ms": "300" }))).toBe(300);
    expect(requestTimeoutMs(new Headers({ "grpc-timeout": "2S" }))).toBe(2_000);
    expect(requestTimeoutMs(new Headers({ "grpc-timeout": "1M" }))).toBe(60_000);
    expect(requestTimeoutMs(new Headers({ "grpc-timeout": "1500u" }))).toBe(1.5);
    expect(requestTimeoutMs(new Headers({ "grpc-timeout": "250m" }))).toBe(250);
  });

  it("is undefined without a timeout, or with one that is malformed", () => {
    expect(requestTimeoutMs(new Headers())).toBeUndefined();
    expect(requestTimeoutMs(new Headers({ "connect-timeout-ms": "-1" }))).toBeUndefined();
    expect(requestTimeoutMs(new Headers({ "connect-timeout-ms": "12345678901" }))).toBeUndefined();
    expect(requestTimeoutMs(new Headers({ "grpc-timeout": "300" }))).toBeUndefined();
    expect(requestTimeoutMs(new Headers({ "grpc-timeout": "123456789S" }))).toBeUndefined();
  });
});

describe("cancelledAtDeadline", () => {
  it("takes a cancellation within 20 ms before the deadline, or after it, for the deadline", () => {
    expect(cancelledAtDeadline(1_000, 1_010)).toBe(true);
    expect(cancelledAtDeadline(1_100, 1_010)).toBe(true);
    expect(cancelledAtDeadline(900, 1_010)).toBe(false);
  });
});
