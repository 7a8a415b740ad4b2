import { describe, expect, it } from "vitest";
import { createAttemptCounter } from "../src/attempt-counter.js";

describe("createAttemptCounter", () => {
  it("counts from the first failed delivery seen, whatever the server's delivery count was then", () => {
    const counter = createAttemptCounter();
    expect(counter.failed("a", 6)).toBe(1);
    expect(counter.failed("a", 7)).toBe(2);
    expect(counter.failed("a", 9)).toBe(4);
    counter.forget("a");
    expect(counter.failed("a", 10)).toBe(1);
  });

  it("does not count deliveries that failed for want of a database, before or after a counted one", () => {
    const counter = createAttemptCounter();
    counter.notCounted("a"); // delivery 1: nothing counted yet, nothing to shift
    expect(counter.failed("a", 2)).toBe(1);
    counter.notCounted("a"); // deliveries 3 and 4: PostgreSQL restarting
    counter.notCounted("a");
    expect(counter.failed("a", 5)).toBe(2);
  });

  it("keeps at most its limit of events, forgetting the oldest first", () => {
    const counter = createAttemptCounter(2);
    counter.failed("a", 1);
    counter.failed("b", 1);
    counter.failed("c", 1);
    expect(counter.failed("b", 3)).toBe(3);
    expect(counter.failed("a", 5)).toBe(1);
  });
});
