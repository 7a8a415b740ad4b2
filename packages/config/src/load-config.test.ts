import { describe, expect, it } from "vitest";
import { ConfigError, hostPort, loadConfig, positiveInt, z } from "./index.js";

const shape = {
  GRPC_ADDRESS: hostPort().default("0.0.0.0:50051"),
  POOL_SIZE: positiveInt().default(10),
  MODE: z.enum(["a", "b"]).default("a"),
};

describe("loadConfig", () => {
  it("applies defaults for unset and empty variables", () => {
    expect(loadConfig(shape, { POOL_SIZE: "" })).toEqual({ GRPC_ADDRESS: "0.0.0.0:50051", POOL_SIZE: 10, MODE: "a" });
  });

  it("coerces and keeps given values", () => {
    expect(loadConfig(shape, { GRPC_ADDRESS: "[::1]:7000", POOL_SIZE: "3", MODE: "b" })).toEqual({
      GRPC_ADDRESS: "[::1]:7000",
      POOL_SIZE: 3,
      MODE: "b",
    });
  });

  it("reports every invalid variable by name in one error", () => {
    const load = () => loadConfig(shape, { GRPC_ADDRESS: "nope", POOL_SIZE: "-1" });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/GRPC_ADDRESS: expected host:port[\s\S]*POOL_SIZE/);
  });
});
