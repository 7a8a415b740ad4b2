import type { Outbox } from "@shopmesh/events";
import {
  PaymentCapturedSchema,
  PaymentDeclinedSchema,
  PaymentRefundedSchema,
} from "@shopmesh/gen/shopmesh/payment/v1/payment_events_pb.js";
import type pg from "pg";
import type { Payment } from "./payment.js";

/**
 * Writes the event announcing a payment's new status to the outbox, in the
 * transaction that recorded it: PaymentCaptured, PaymentDeclined or PaymentRefunded.
 * A tombstone announces nothing.
 */
export async function appendPaymentEvent(outbox: Outbox, tx: pg.ClientBase, payment: Payment): Promise<void> {
  const { orderId, paymentId } = payment;
  switch (payment.status) {
    case "captured":
      await outbox.append(tx, PaymentCapturedSchema, { orderId, paymentId, amount: money(payment.amount) });
      return;
    case "declined":
      await outbox.append(tx, PaymentDeclinedSchema, { orderId, paymentId, reason: payment.declineReason });
      return;
    case "refunded":
      await outbox.append(tx, PaymentRefundedSchema, { orderId, paymentId, amount: money(payment.amount) });
      return;
    case "voided":
      return;
  }
}

function money(amount: { amountMinor: bigint; currency: string }) {
  return { amountMinor: amount.amountMinor, currencyCode: amount.currency };
}
