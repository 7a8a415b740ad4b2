import { describe, expect, it } from "vitest";
import { grpcTarget } from "./variables.js";

describe("grpcTarget", () => {
  it.each([
    "127.0.0.1:50052",
    "inventory:50052",
    "[::1]:50052",
    "dns:///inventory-headless:50052",
    "dns:inventory:50052",
    "dns://10.0.0.10:53/inventory-headless.shop.svc.cluster.local:50052",
    "ipv4:127.0.0.1:50052,127.0.0.1:50062",
    "ipv6:[::1]:50052",
  ])("accepts %s", (value) => {
    expect(grpcTarget().parse(value)).toBe(value);
  });

  it.each(["inventory", "http://inventory:50052", "dns:///inventory", "ipv4:127.0.0.1:1,", "inventory:50052 "])(
    "rejects %s",
    (value) => {
      expect(grpcTarget().safeParse(value).success).toBe(false);
    },
  );
});
