import { type Attributes, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { createMeter } from "@shopmesh/telemetry";
import type { ChargeOutcome, PaymentProvider } from "./payment-provider.js";

const tracer = trace.getTracer("@shopmesh/payment");
const meter = createMeter();
const charges = meter.createCounter("shopmesh.payments.charges", {
  description: "Provider charge calls by outcome: captured, declined, provider_error (retried later)",
});
const refunds = meter.createCounter("shopmesh.payments.refunds", {
  description: "Provider refund calls by outcome: refunded, provider_error (retried later)",
});

/** What the charges counter counts: the provider's answers, and calls that failed. */
type CountedCharge = ChargeOutcome["outcome"] | "provider_error";

/**
 * The provider with a client span around each call, so a trace shows how long the
 * provider took, and the payment outcome on the span that handles the payment — the
 * attribute a person searching for declined checkouts filters on — and counted by
 * outcome, so a surge of declines or provider failures can raise an alert. Every
 * outcome's count starts at zero: a series that first appears at 1 is invisible to
 * PromQL's increase() and rate(), which would miss a fresh process's first charge.
 */
export function instrumentedProvider(provider: PaymentProvider): PaymentProvider {
  const counted: CountedCharge[] = ["captured", "declined", "provider_error"];
  for (const outcome of counted) charges.add(0, { outcome });
  for (const outcome of ["refunded", "provider_error"]) refunds.add(0, { outcome });
  return {
    charge: (instruction) => {
      const handling = trace.getActiveSpan();
      return providerCall(
        "payment provider charge",
        { "shopmesh.order.id": instruction.idempotencyKey },
        async (span) => {
          try {
            const outcome = await provider.charge(instruction);
            span.setAttribute("shopmesh.payment.outcome", outcome.outcome);
            handling?.setAttribute("shopmesh.payment.outcome", outcome.outcome);
            charges.add(1, { outcome: outcome.outcome });
            return outcome;
          } catch (error) {
            span.setAttribute("shopmesh.payment.outcome", "provider_error");
            charges.add(1, { outcome: "provider_error" });
            throw error;
          }
        },
      );
    },
    refund: (instruction) =>
      providerCall("payment provider refund", { "shopmesh.order.id": instruction.orderId }, async () => {
        try {
          const refunded = await provider.refund(instruction);
          refunds.add(1, { outcome: "refunded" });
          return refunded;
        } catch (error) {
          refunds.add(1, { outcome: "provider_error" });
          throw error;
        }
      }),
    cancelCharge: (idempotencyKey) =>
      providerCall("payment provider cancel charge", { "shopmesh.order.id": idempotencyKey }, async (span) => {
        const charged = await provider.cancelCharge(idempotencyKey);
        span.setAttribute("shopmesh.payment.outcome", charged?.outcome.outcome ?? "none");
        return charged;
      }),
  };
}

/** A provider call in a client span of its own, its status an error when the call fails. */
function providerCall<T>(name: string, attributes: Attributes, call: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await call(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorKind(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * What a provider's failure is, for the span's status: its class, not its message — a
 * provider may put the payment token or card details in its message.
 */
function errorKind(error: unknown): string {
  return error instanceof Error ? error.name : "provider error";
}
