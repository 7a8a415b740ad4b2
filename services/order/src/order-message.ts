import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { PricedLineSchema } from "@shopmesh/gen/shopmesh/common/v1/line_item_pb.js";
import type { MoneySchema } from "@shopmesh/gen/shopmesh/common/v1/money_pb.js";
import {
  OrderEndCause,
  type OrderSchema,
  OrderStatus as OrderStatusMessage,
} from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import type { EndCause, Order, OrderLine, OrderStatus } from "./order.js";

const statusMessages: Record<OrderStatus, OrderStatusMessage> = {
  pending: OrderStatusMessage.PENDING,
  reserved: OrderStatusMessage.RESERVED,
  confirmed: OrderStatusMessage.CONFIRMED,
  rejected: OrderStatusMessage.REJECTED,
  cancelled: OrderStatusMessage.CANCELLED,
};

const endCauseMessages: Record<EndCause, OrderEndCause> = {
  "out-of-stock": OrderEndCause.OUT_OF_STOCK,
  "payment-declined": OrderEndCause.PAYMENT_DECLINED,
  customer: OrderEndCause.CUSTOMER,
  "stock-released": OrderEndCause.STOCK_RELEASED,
  "payment-refunded": OrderEndCause.PAYMENT_REFUNDED,
  "capture-refunded": OrderEndCause.CAPTURE_REFUNDED,
};

/** Money in the contract's shape. */
export function toMoney(amountMinor: bigint, currencyCode: string): MessageInitShape<typeof MoneySchema> {
  return { amountMinor, currencyCode };
}

/** A line in the contract's shape. */
export function toPricedLine(line: OrderLine, currency: string): MessageInitShape<typeof PricedLineSchema> {
  return {
    sku: line.sku,
    name: line.name,
    quantity: line.quantity,
    unitPrice: toMoney(line.unitPriceMinor, currency),
    lineTotal: toMoney(line.unitPriceMinor * BigInt(line.quantity), currency),
  };
}

/** An order in the contract's shape: the only place the domain meets the generated types. */
export function toOrderMessage(order: Order): MessageInitShape<typeof OrderSchema> {
  return {
    orderId: order.orderId,
    customerId: order.customerId,
    status: statusMessages[order.status],
    lines: order.lines.map((line) => toPricedLine(line, order.currency)),
    total: toMoney(order.totalMinor, order.currency),
    statusReason: order.statusReason,
    endCause: order.endCause ? endCauseMessages[order.endCause] : OrderEndCause.UNSPECIFIED,
    history: order.history.map((change) => ({
      status: statusMessages[change.status],
      reason: change.reason,
      changeTime: timestampFromDate(change.at),
    })),
    paymentId: order.paymentId,
    createTime: timestampFromDate(order.createdAt),
    updateTime: timestampFromDate(order.updatedAt),
  };
}
