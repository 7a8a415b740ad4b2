import { within } from "@shopmesh/server";
import { type PaymentProvider, TransientProviderError } from "./payment-provider.js";

/**
 * The provider with a deadline on every call: one not answered within `timeoutMs`
 * fails with {@link TransientProviderError}. The StockReserved consumer then retries
 * it, with the same idempotency key — a provider that acted meanwhile answers the same
 * outcome and charges once — and the Charge RPC answers UNAVAILABLE. Without it, an
 * adapter that hangs would hold its event past the consumer's ack wait, and JetStream
 * would deliver a second copy while the first call still waited. The deadline is per
 * call: an event that makes two (a charge, then its refund) stays under the 30 s wait
 * with PAYMENT_PROVIDER_TIMEOUT_MS at its 14 s maximum; a copy delivered past it would
 * still charge and refund once, through the same keys.
 */
export function providerWithDeadline(provider: PaymentProvider, timeoutMs: number): PaymentProvider {
  const late = (call: string) => () =>
    new TransientProviderError(`the payment provider did not answer the ${call} within ${timeoutMs} ms`);
  return {
    charge: (instruction) => within(provider.charge(instruction), timeoutMs, late("charge")),
    refund: (instruction) => within(provider.refund(instruction), timeoutMs, late("refund")),
    cancelCharge: (idempotencyKey) =>
      within(provider.cancelCharge(idempotencyKey), timeoutMs, late("cancellation of a charge")),
  };
}
