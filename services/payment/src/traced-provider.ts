import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { PaymentProvider } from "./payment-provider.js";

const tracer = trace.getTracer("@shopmesh/payment");

/**
 * The provider with a client span around each call, so a trace shows how long the
 * provider took, and the payment outcome on the span that handles the payment — the
 * attribute a person searching for declined checkouts filters on.
 */
export function tracedProvider(provider: PaymentProvider): PaymentProvider {
  return {
    charge: (instruction) => {
      const handling = trace.getActiveSpan();
      return tracer.startActiveSpan(
        "payment provider charge",
        { kind: SpanKind.CLIENT, attributes: { "shopmesh.order.id": instruction.idempotencyKey } },
        async (span) => {
          try {
            const outcome = await provider.charge(instruction);
            span.setAttribute("shopmesh.payment.outcome", outcome.outcome);
            handling?.setAttribute("shopmesh.payment.outcome", outcome.outcome);
            return outcome;
          } catch (error) {
            span.setAttribute("shopmesh.payment.outcome", "provider_error");
            span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
            throw error;
          } finally {
            span.end();
          }
        },
      );
    },
    refund: (instruction) =>
      tracer.startActiveSpan("payment provider refund", { kind: SpanKind.CLIENT }, async (span) => {
        try {
          return await provider.refund(instruction);
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
          throw error;
        } finally {
          span.end();
        }
      }),
  };
}
