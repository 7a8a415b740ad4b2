import { within } from "@shopmesh/server";
import { type PaymentProvider, TransientProviderError } from "./payment-provider.js";

/**
 * The provider with a deadline on every call: one not answered within `timeoutMs`
 * fails with {@link TransientProviderError}. The StockReserved consumer then retries
 * it, with the same idempotency key — a provider that acted meanwhile answers the same
 * outcome and charges once — and the Charge RPC answers UNAVAILABLE. Without it, an
 * adapter that hangs would hold its event past the consumer's ack wait, and JetStream
 * would deliver a second copy while the first call still waited; the deadline stays
 * under that wait (30 s).
 */
export function providerWithDeadline(provider: PaymentProvider, timeoutMs: number): PaymentProvider {
  const late = (call: string) => () =>
    new TransientProviderError(`the payment provider did not answer the ${call} within ${timeoutMs} ms`);
  return {
    charge: (instruction) => within(provider.charge(instruction), timeoutMs, late("charge")),
    refund: (instruction) => within(provider.refund(instruction), timeoutMs, late("refund")),
  };
}
