import { describe, expect, it } from "vitest";
import { type ChargeInstruction, type PaymentProvider, TransientProviderError } from "./payment-provider.js";
import { withoutPaymentTokens } from "./token-redaction.js";

const token = "pm_card_4242_secret";
const instruction: ChargeInstruction = { idempotencyKey: "key", amount: 1_000n, currency: "USD", token };

/** A provider that quotes the token it was given, as some gateways' messages do. */
function quoting(answer: "decline" | "fail"): PaymentProvider {
  return {
    async charge({ token }) {
      if (answer === "fail") throw new TransientProviderError(`gateway timeout charging ${token}`);
      return { outcome: "declined", reason: `card ${token} declined: insufficient funds` };
    },
    refund: async () => ({ reference: "r" }),
    cancelCharge: async () => undefined,
  };
}

describe("a provider whose answers quote the payment token", () => {
  it("declines with the reason, the token taken out", async () => {
    expect(await withoutPaymentTokens(quoting("decline")).charge(instruction)).toEqual({
      outcome: "declined",
      reason: "card [payment token] declined: insufficient funds",
    });
  });

  it("fails with the same error, its message and stack without the token", async () => {
    const error = await withoutPaymentTokens(quoting("fail"))
      .charge(instruction)
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TransientProviderError);
    expect((error as Error).message).toBe("gateway timeout charging [payment token]");
    expect((error as Error).stack).not.toContain(token);
  });
});
