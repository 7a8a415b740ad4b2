import type { DescMessage } from "@bufbuild/protobuf";
import {
  StockRejectedSchema,
  StockReleasedSchema,
  StockReservedSchema,
} from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
  OrderRejectedSchema,
} from "@shopmesh/gen/shopmesh/order/v1/order_events_pb.js";
import {
  PaymentCapturedSchema,
  PaymentDeclinedSchema,
  PaymentRefundedSchema,
} from "@shopmesh/gen/shopmesh/payment/v1/payment_events_pb.js";

/** Every event of the shopmesh contracts. */
export const allEvents: readonly DescMessage[] = [
  OrderPlacedSchema,
  OrderConfirmedSchema,
  OrderRejectedSchema,
  OrderCancelledSchema,
  StockReservedSchema,
  StockRejectedSchema,
  StockReleasedSchema,
  PaymentCapturedSchema,
  PaymentDeclinedSchema,
  PaymentRefundedSchema,
];
