import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, test } from "vitest";
import { startStubInventory } from "../test/stub-inventory.js";
import { createCatalogClient, inGroupsOfSkus } from "./catalog-client.js";
import { OrderError } from "./errors.js";

describe("catalog lookups sharing calls", () => {
  test("group consecutive lookups so that no call names more SKUs than the limit", () => {
    const lookups = [["A", "B"], ["C"], ["A", "D"], ["E", "F"], ["G"]].map((skus) => ({ skus }));
    const groups = inGroupsOfSkus(lookups, 3);
    expect(groups.map((group) => group.map(({ skus }) => skus.join("")))).toEqual([["AB", "C"], ["AD"], ["EF", "G"]]);
    for (const group of groups) expect(new Set(group.flatMap(({ skus }) => skus)).size).toBeLessThanOrEqual(3);
  });

  test("count a SKU named by several lookups once", () => {
    const lookups = [["A", "B"], ["B", "A"], ["A"], ["B", "C"]].map((skus) => ({ skus }));
    expect(inGroupsOfSkus(lookups, 3)).toEqual([lookups]);
  });

  test("keep a lookup whole even when it alone reaches the limit", () => {
    const lookups = [["A"], ["B", "C", "D"], ["E"]].map((skus) => ({ skus }));
    expect(inGroupsOfSkus(lookups, 3).map((group) => group.length)).toEqual([1, 1, 1]);
    expect(inGroupsOfSkus([], 3)).toEqual([]);
  });
});

/** An inventory that takes its time: every BatchGetProducts answers after `answerAfterMs`, at 100 USD each. */
const slowInventory = (answerAfterMs: number) => startStubInventory(() => sleep(answerAfterMs));

describe("a call shared by several lookups", () => {
  test("a caller whose deadline is near fails alone, not the others waiting with it", async () => {
    const answerAfterMs = 150;
    const inventory = await slowInventory(answerAfterMs);
    const catalog = createCatalogClient(inventory.target, 0);
    try {
      const [first, patient, hurried] = await Promise.allSettled([
        catalog.lookup(["SKU-A"], { timeoutMs: 5_000, callersDeadline: false }),
        // These two wait for the first call and then share the next one.
        catalog.lookup(["SKU-B"], { timeoutMs: 5_000, callersDeadline: false }),
        catalog.lookup(["SKU-C"], { timeoutMs: answerAfterMs / 2, callersDeadline: false }),
      ]);
      expect(first.status).toBe("fulfilled");
      expect(hurried.status === "rejected" && hurried.reason).toBeInstanceOf(OrderError);
      expect(patient.status === "fulfilled" && patient.value.get("SKU-B")?.priceMinor).toBe(100n);
    } finally {
      catalog.close();
      await inventory.close();
    }
  });
});

describe("recent prices", () => {
  test("answer a lookup the catalog is too slow for, but not one whose caller's own deadline runs out", async () => {
    const answerAfterMs = 150;
    const inventory = await slowInventory(answerAfterMs);
    const catalog = createCatalogClient(inventory.target, 60_000);
    try {
      await catalog.lookup(["SKU-A"], { timeoutMs: 5_000, callersDeadline: false });

      const slow = await catalog.lookup(["SKU-A"], { timeoutMs: answerAfterMs / 2, callersDeadline: false });
      expect(slow.get("SKU-A")?.priceMinor).toBe(100n);
      const hurried = catalog.lookup(["SKU-A"], { timeoutMs: answerAfterMs / 2, callersDeadline: true });
      await expect(hurried).rejects.toSatisfy(
        (error: unknown) => error instanceof ConnectError && error.code === Code.DeadlineExceeded,
      );
    } finally {
      catalog.close();
      await inventory.close();
    }
  });
});
