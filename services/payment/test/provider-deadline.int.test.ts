import { randomUUID } from "node:crypto";
import { StockReservedSchema } from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import { PaymentCapturedSchema } from "@shopmesh/gen/shopmesh/payment/v1/payment_events_pb.js";
import { waitFor } from "@shopmesh/testing";
import { describe, expect, test } from "vitest";
import { usePaymentService } from "./harness.js";

const payment = usePaymentService("payment provider deadline", { PAYMENT_PROVIDER_TIMEOUT_MS: "300" });

describe("a provider call that never answers", () => {
  test("is given up at the deadline and retried with the same key: captured once, one PaymentCaptured", async () => {
    const orderId = randomUUID();
    // The provider charges, then its answer never comes back (released only at the end).
    const held = payment.hold(orderId);
    try {
      await payment.publish(StockReservedSchema, payment.stockReserved("tok_visa", orderId));
      await held.reached;
      const row = await waitFor(
        async () => {
          const current = await payment.row(orderId);
          return current?.status === "captured" ? current : undefined;
        },
        { description: "the payment captured by the retry" },
      );
      expect(row.attempts).toBe(2);
      expect(payment.simulator.chargeOf(orderId)).toMatchObject({ calls: 2, outcome: { outcome: "captured" } });
      const captured = await waitFor(
        async () => {
          const events = await payment.events(PaymentCapturedSchema, orderId);
          return events.length > 0 ? events : undefined;
        },
        { description: "the PaymentCaptured event" },
      );
      expect(captured).toHaveLength(1);
    } finally {
      held.release();
    }
  });
});
