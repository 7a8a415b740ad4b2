import { JetStreamApiError } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { retryDeclaration } from "./declaration-retry.js";

/** JetStream's answer while too few nodes of a cluster are up to place a stream's replicas. */
const noPeers = () =>
  new JetStreamApiError({ code: 400, err_code: 10005, description: "no suitable peers for placement" });

/** A declaration that is refused `times` times, then done; `calls` counts its runs. */
function refusedFirst(times: number) {
  const counter = { calls: 0 };
  const declare = async () => {
    counter.calls++;
    if (counter.calls <= times) throw noPeers();
    return "declared";
  };
  return { counter, declare };
}

describe("retryDeclaration", () => {
  it("goes on through quick refusals for as long as its time lasts, not for a number of attempts", async () => {
    const { counter, declare } = refusedFirst(10);
    await expect(retryDeclaration(declare, { withinMs: 10_000, firstPauseMs: 1 })).resolves.toBe("declared");
    expect(counter.calls).toBe(11);
  });

  it("gives up with the last failure once its time is over", async () => {
    const { counter, declare } = refusedFirst(Number.POSITIVE_INFINITY);
    await expect(retryDeclaration(declare, { withinMs: 100, firstPauseMs: 10 })).rejects.toThrow(
      "no suitable peers for placement",
    );
    expect(counter.calls).toBeGreaterThan(1);
  });

  it("attempts nothing more once its signal is aborted, in a pause or before an attempt", async () => {
    const stopping = new AbortController();
    let calls = 0;
    const declare = async () => {
      calls++;
      // Aborted while the pause after the first attempt runs (2 s, were it not).
      if (calls === 1) setImmediate(() => stopping.abort(new Error("the consumer stopped")));
      throw noPeers();
    };
    await expect(
      retryDeclaration(declare, { withinMs: 60_000, firstPauseMs: 5_000, signal: stopping.signal }),
    ).rejects.toThrow("the consumer stopped");
    expect(calls).toBe(1);
    await expect(retryDeclaration(declare, { signal: stopping.signal })).rejects.toThrow("the consumer stopped");
    expect(calls).toBe(1);
  });
});
