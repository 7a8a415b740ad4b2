import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { type PaymentSchema, PaymentStatus } from "@shopmesh/gen/shopmesh/payment/v1/payment_pb.js";
import type { PaymentService } from "@shopmesh/gen/shopmesh/payment/v1/payment_service_pb.js";
import { canonicalUuid } from "@shopmesh/server";
import { chargePayment } from "./charge-payment.js";
import { toConnectError } from "./errors.js";
import { type VisiblePayment, visiblePayment } from "./payment.js";
import { findPayment } from "./payment-store.js";
import { refundPayment } from "./refund-payment.js";
import type { PaymentDeps } from "./use-case.js";

/**
 * The internal PaymentService (service tokens only; the auth interceptor enforces
 * it from the contract). Handlers map messages to the use cases and back.
 */
export function createPaymentRoutes(deps: PaymentDeps): ServiceImpl<typeof PaymentService> {
  return {
    async charge({ orderId, amount, paymentToken }) {
      const request = {
        orderId: canonicalUuid(orderId),
        amount: { amountMinor: amount?.amountMinor ?? 0n, currency: amount?.currencyCode ?? "" },
        token: paymentToken,
      };
      const payment = await chargePayment(deps, request).catch(rethrow);
      return { payment: toMessage(payment) };
    },
    async refund({ orderId, reason }) {
      const payment = await refundPayment(deps, canonicalUuid(orderId), reason).catch(rethrow);
      return { payment: toMessage(payment) };
    },
    async getPayment({ orderId }) {
      const payment = await findPayment(deps.pool, canonicalUuid(orderId))
        .then((found) => visiblePayment(canonicalUuid(orderId), found))
        .catch(rethrow);
      return { payment: toMessage(payment) };
    },
  };
}

function rethrow(error: unknown): never {
  throw toConnectError(error);
}

const statuses = {
  captured: PaymentStatus.CAPTURED,
  declined: PaymentStatus.DECLINED,
  refunded: PaymentStatus.REFUNDED,
} as const;

function toMessage(payment: VisiblePayment): MessageInitShape<typeof PaymentSchema> {
  return {
    paymentId: payment.paymentId,
    orderId: payment.orderId,
    status: statuses[payment.status],
    amount: { amountMinor: payment.amount.amountMinor, currencyCode: payment.amount.currency },
    providerReference: payment.status === "declined" ? "" : payment.providerReference,
    declineReason: payment.status === "declined" ? payment.declineReason : "",
    refundReason: payment.status === "refunded" ? payment.refundReason : "",
    attempts: payment.attempts,
    createTime: timestampFromDate(payment.createdAt),
    updateTime: timestampFromDate(payment.updatedAt),
  };
}
