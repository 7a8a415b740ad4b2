import { describe, expect, test } from "vitest";
import { inGroupsOfSkus } from "./catalog-client.js";

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
