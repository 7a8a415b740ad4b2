import { ConfigError } from "@shopmesh/config";
import { describe, expect, it } from "vitest";
import { loadServiceConfig } from "./service-config.js";

const defaults = { grpcAddress: "0.0.0.0:50051", httpAddress: "0.0.0.0:8081" };
const required = { DATABASE_URL: "postgres://localhost/shopmesh_order", AUTH_DEV_KEY: "k".repeat(43) };
const load = (env: Record<string, string>) => loadServiceConfig(defaults, { ...required, ...env });

describe("NATS_STREAM_MAX_AGE_DAYS", () => {
  it("keeps events on their streams 7 days unless told otherwise", () => {
    expect(load({}).NATS_STREAM_MAX_AGE_DAYS).toBe(7);
    expect(load({ NATS_STREAM_MAX_AGE_DAYS: "2" }).NATS_STREAM_MAX_AGE_DAYS).toBe(2);
  });

  it("refuses more than the 7 days the inbox's retention bound is derived from", () => {
    expect(() => load({ NATS_STREAM_MAX_AGE_DAYS: "8" })).toThrow(ConfigError);
    expect(() => load({ NATS_STREAM_MAX_AGE_DAYS: "8" })).toThrow(/NATS_STREAM_MAX_AGE_DAYS/);
  });

  it("refuses no age, a fraction of a day and a word", () => {
    for (const value of ["0", "1.5", "week"])
      expect(() => load({ NATS_STREAM_MAX_AGE_DAYS: value }), value).toThrow(/NATS_STREAM_MAX_AGE_DAYS/);
  });
});
