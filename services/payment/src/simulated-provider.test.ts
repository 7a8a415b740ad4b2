import { randomUUID } from "node:crypto";
import { describe, expect, test } from "vitest";
import { IdempotencyConflictError, TransientProviderError } from "./payment-provider.js";
import { createSimulatedProvider, slowTokenLatencyMs } from "./simulated-provider.js";

const charge = (token: string, idempotencyKey: string = randomUUID(), amount = 1999n) => ({
  idempotencyKey,
  amount,
  currency: "USD",
  token,
});

describe("simulated payment provider", () => {
  test("tok_visa captures, with a reference derived from the idempotency key", async () => {
    const provider = createSimulatedProvider();
    const first = await provider.charge(charge("tok_visa", "order-1"));
    const other = await createSimulatedProvider().charge(charge("tok_visa", "order-1"));
    expect(first).toEqual({ outcome: "captured", reference: expect.stringMatching(/^sim_ch_[0-9a-f]{24}$/) });
    expect(other).toEqual(first);
    expect(provider.counts()).toMatchObject({ chargeCalls: 1, captures: 1, declines: 0 });
  });

  test.each([
    ["tok_declined", "card declined"],
    ["tok_insufficient_funds", "insufficient funds"],
    ["tok_mastercard", "unknown test token"],
    ["tok_transient_0", "unknown test token"],
    ["tok_transient_10", "unknown test token"],
    ["", "unknown test token"],
  ])("%j is declined: %s", async (token, reason) => {
    const provider = createSimulatedProvider();
    expect(await provider.charge(charge(token))).toEqual({ outcome: "declined", reason });
    expect(provider.counts()).toMatchObject({ captures: 0, declines: 1 });
  });

  test("tok_transient_<n> fails transiently n times per key, then captures once", async () => {
    const provider = createSimulatedProvider();
    const key = randomUUID();
    for (let attempt = 1; attempt <= 3; attempt++) {
      await expect(provider.charge(charge("tok_transient_3", key))).rejects.toBeInstanceOf(TransientProviderError);
    }
    const captured = await provider.charge(charge("tok_transient_3", key));
    expect(captured.outcome).toBe("captured");
    expect(await provider.charge(charge("tok_transient_3", key))).toEqual(captured);
    expect(provider.chargeOf(key)).toMatchObject({ calls: 5, transientFailures: 3, outcome: captured });
    expect(provider.counts()).toMatchObject({ chargeCalls: 5, transientFailures: 3, captures: 1 });

    const otherKey = randomUUID();
    // Named by its charge, never by the payment token: the message reaches spans and logs.
    const failure = await provider.charge(charge("tok_transient_1", otherKey)).catch((error: Error) => error);
    expect((failure as Error).message).toBe(`simulated transient failure 1 of charge ${otherKey}`);
    expect((await provider.charge(charge("tok_transient_1", otherKey))).outcome).toBe("captured");
  });

  test("a repeated key replays the first outcome, whatever the token, and never captures twice", async () => {
    const provider = createSimulatedProvider();
    const declinedKey = randomUUID();
    const declined = await provider.charge(charge("tok_declined", declinedKey));
    expect(await provider.charge(charge("tok_visa", declinedKey))).toEqual(declined);

    const capturedKey = randomUUID();
    const results = await Promise.all(
      Array.from({ length: 5 }, () => provider.charge(charge("tok_visa_slow", capturedKey))),
    );
    expect(new Set(results.map((result) => JSON.stringify(result))).size).toBe(1);
    expect(provider.chargeOf(capturedKey)?.calls).toBe(5);
    expect(provider.counts()).toMatchObject({ chargeCalls: 7, captures: 1, declines: 1 });
  });

  test("a key reused with another amount is refused and charges nothing", async () => {
    const provider = createSimulatedProvider();
    const key = randomUUID();
    const first = await provider.charge(charge("tok_visa", key, 1000n));
    await expect(provider.charge(charge("tok_visa", key, 5000n))).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect(await provider.charge(charge("tok_visa", key, 1000n))).toEqual(first);
    expect(provider.counts()).toMatchObject({ captures: 1 });
    expect(provider.chargeOf(key)?.amount).toBe(1000n);
  });

  test("_slow adds 200 ms and PAYMENT_SIMULATOR_LATENCY_MS adds to every call", async () => {
    const timed = async (run: () => Promise<unknown>) => {
      const started = performance.now();
      await run();
      return performance.now() - started;
    };
    const fast = createSimulatedProvider();
    const slow = await timed(() => fast.charge(charge("tok_declined_slow")));
    expect(slow).toBeGreaterThanOrEqual(slowTokenLatencyMs - 5);
    expect(await fast.charge(charge("tok_declined_slow"))).toEqual({ outcome: "declined", reason: "card declined" });

    const delayed = createSimulatedProvider({ latencyMs: 50 });
    expect(await timed(() => delayed.charge(charge("tok_visa")))).toBeGreaterThanOrEqual(45);
    const started = performance.now();
    await expect(delayed.charge(charge("tok_transient_1_slow"))).rejects.toBeInstanceOf(TransientProviderError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(slowTokenLatencyMs + 45);
  });

  test("refunds are idempotent per key and only of captured charges", async () => {
    const provider = createSimulatedProvider();
    const key = randomUUID();
    const captured = await provider.charge(charge("tok_visa", key, 500n));
    if (captured.outcome !== "captured") throw new Error("expected a capture");
    const refund = { idempotencyKey: `refund:${key}`, orderId: key, reference: captured.reference, amount: 500n };
    const first = await provider.refund(refund);
    expect(first.reference).toMatch(/^sim_re_[0-9a-f]{24}$/);
    expect(await provider.refund(refund)).toEqual(first);
    expect(provider.refundOf(refund.idempotencyKey)).toMatchObject({ calls: 2, chargeReference: captured.reference });
    expect(provider.counts()).toMatchObject({ refundCalls: 2, refunds: 1 });

    await expect(provider.refund({ ...refund, idempotencyKey: "another key" })).rejects.toThrow(/already refunded/);
    await expect(provider.refund({ ...refund, idempotencyKey: "k", reference: "sim_ch_nope" })).rejects.toThrow(
      /no captured charge/,
    );
    const second = await provider.charge(charge("tok_visa", randomUUID(), 100n));
    if (second.outcome !== "captured") throw new Error("expected a capture");
    await expect(
      provider.refund({ idempotencyKey: "k2", orderId: "o2", reference: second.reference, amount: 101n }),
    ).rejects.toThrow(/cannot refund/);
  });

  test("cancelCharge answers a key's outcome, and closes a key that charged nothing: a late call is declined", async () => {
    const provider = createSimulatedProvider();
    const captured = await provider.charge(charge("tok_visa", "captured"));
    expect(await provider.cancelCharge("captured")).toEqual({ outcome: captured, amount: 1999n, currency: "USD" });
    await expect(provider.charge(charge("tok_transient_1", "failed-once"))).rejects.toBeInstanceOf(
      TransientProviderError,
    );
    expect(await provider.cancelCharge("failed-once")).toBeUndefined();
    expect(await provider.cancelCharge("never-called")).toBeUndefined();
    for (const key of ["failed-once", "never-called"]) {
      expect(await provider.charge(charge("tok_visa", key))).toEqual({
        outcome: "declined",
        reason: "charge cancelled",
      });
    }
    expect(await provider.cancelCharge("never-called")).toMatchObject({
      outcome: { outcome: "declined", reason: "charge cancelled" },
    });
    expect(provider.counts()).toMatchObject({ captures: 1, declines: 2, cancelCalls: 4 });
  });

  test("non-positive amounts are refused", async () => {
    await expect(createSimulatedProvider().charge(charge("tok_visa", randomUUID(), 0n))).rejects.toThrow(/positive/);
  });
});
