import { describe, expect, it } from "vitest";
import { createMarkQueue } from "./mark-queue.js";

const ids = (from: number, count: number) => Array.from({ length: count }, (_, i) => String(from + i));

describe("the ids of published rows waiting to be marked", () => {
  it("are taken oldest first, at most the limit at a time, and ids put back come first again", () => {
    const queue = createMarkQueue(3);
    queue.add(ids(1, 4));
    const first = queue.take();
    expect(first).toEqual(["1", "2", "3"]);
    queue.add(ids(5, 1));
    queue.putBack(first);
    expect([queue.take(), queue.take(), queue.take()]).toEqual([["1", "2", "3"], ["4", "5"], []]);
  });

  it("hold the backlog of a long marking outage, in any number, without overflowing the stack", () => {
    const queue = createMarkQueue(5_000);
    const backlog = ids(1, 300_000);
    queue.add(backlog);
    const taken = queue.take();
    queue.putBack(taken);
    queue.add(ids(300_001, 300_000));
    expect(queue.size).toBe(600_000);
    expect(queue.take()).toEqual(backlog.slice(0, 5_000));
  });
});
