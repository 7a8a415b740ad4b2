import { describe, expect, it } from "vitest";
import { createAttemptCounter } from "../src/attempt-counter.js";

describe("createAttemptCounter", () => {
  it("counts the failures it is told of, not the deliveries in between (another replica's, an outage's)", () => {
    const counter = createAttemptCounter();
    expect(counter.failed("a")).toBe(1);
    expect(counter.failed("a")).toBe(2);
    expect(counter.failed("a")).toBe(3);
    counter.forget("a");
    expect(counter.failed("a")).toBe(1);
  });

  it("keeps at most its limit of events, forgetting the oldest first", () => {
    const counter = createAttemptCounter(2);
    counter.failed("a");
    counter.failed("b");
    counter.failed("c");
    expect(counter.failed("b")).toBe(2);
    expect(counter.failed("a")).toBe(1);
  });
});
