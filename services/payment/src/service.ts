import { z } from "@shopmesh/config";
import { PaymentService } from "@shopmesh/gen/shopmesh/payment/v1/payment_service_pb.js";
import type { ServiceDefinition } from "@shopmesh/runtime";
import { registerService } from "@shopmesh/server";
import { createChargeStore } from "./charge-store.js";
import { createPaymentConsumers } from "./consumers.js";
import { instrumentedProvider } from "./instrumented-provider.js";
import type { PaymentProvider } from "./payment-provider.js";
import { providerWithDeadline } from "./provider-deadline.js";
import { createPaymentRoutes } from "./routes.js";
import { createSimulatedProvider } from "./simulated-provider.js";
import { withoutPaymentTokens } from "./token-redaction.js";

/** The payment service's own environment variables. */
export const paymentConfig = {
  /** Latency the simulator adds to every provider call, in ms (default 0). */
  PAYMENT_SIMULATOR_LATENCY_MS: z.coerce.number().int().min(0).max(60_000).default(0),
  /**
   * Longest a provider call may take before it is retried, in ms (default 10 s). A
   * StockReserved may make two calls (a charge, then its refund when the order was
   * cancelled meanwhile): at most 14 s each keeps them under the consumer's 30 s ack wait.
   */
  PAYMENT_PROVIDER_TIMEOUT_MS: z.coerce.number().int().min(1).max(14_000).default(10_000),
};

/** What can be swapped when building the service. */
export interface PaymentServiceOptions {
  /** The payment provider; the simulator when omitted. */
  readonly provider?: PaymentProvider;
}

/**
 * Builds the payment service definition; tests inject a provider.
 *
 * ```ts
 * const provider = createSimulatedProvider();
 * const service = await runService(createPaymentService({ provider }), env);
 * ```
 */
export function createPaymentService(options: PaymentServiceOptions = {}): ServiceDefinition<typeof paymentConfig> {
  return {
    name: "payment",
    defaults: { grpcAddress: "0.0.0.0:50053", httpAddress: "0.0.0.0:8083" },
    config: paymentConfig,
    migrations: new URL("../migrations/", import.meta.url),
    async build({ settings, pool, consumerPool, outbox, logger }) {
      const provider = instrumentedProvider(
        withoutPaymentTokens(
          providerWithDeadline(
            options.provider ?? createSimulatedProvider({ latencyMs: settings.PAYMENT_SIMULATOR_LATENCY_MS }),
            settings.PAYMENT_PROVIDER_TIMEOUT_MS,
          ),
        ),
      );
      return {
        services: [
          registerService(
            PaymentService,
            createPaymentRoutes({ pool, charges: createChargeStore(pool, outbox), outbox, provider }),
          ),
        ],
        consumers: createPaymentConsumers(
          { pool: consumerPool, charges: createChargeStore(consumerPool, outbox), outbox, provider },
          logger,
        ),
      };
    },
  };
}

/** The payment service with the simulated provider. */
export const paymentService = createPaymentService();
