import type { PaymentProvider } from "./payment-provider.js";

const redacted = "[payment token]";

/**
 * The provider with the payment token taken out of what its charges answer: a
 * provider's error message or decline reason may quote the token it was given, and
 * both travel on — into logs, span events and dead-letter reasons (errors), into the
 * PaymentDeclined event and the order's cancellation reason the customer reads
 * (declines) — where no token may appear.
 */
export function withoutPaymentTokens(provider: PaymentProvider): PaymentProvider {
  return {
    ...provider,
    charge: async (instruction) => {
      const { token } = instruction;
      try {
        const outcome = await provider.charge(instruction);
        return outcome.outcome === "declined" ? { ...outcome, reason: redact(outcome.reason, token) } : outcome;
      } catch (error) {
        if (error instanceof Error && token !== "") {
          error.message = redact(error.message, token);
          // A stack's first line is the message as it was when the error was made.
          if (error.stack) error.stack = redact(error.stack, token);
        }
        throw error;
      }
    },
  };
}

function redact(text: string, token: string): string {
  return token === "" ? text : text.replaceAll(token, redacted);
}
