import { create, toJsonString } from "@bufbuild/protobuf";
import { ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { customerIdOf } from "@shopmesh/auth";
import type { Outbox } from "@shopmesh/events";
import { OrderSchema } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import type { OrderService } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import { canonicalUuid, defaultMaxMessageBytes } from "@shopmesh/server";
import type pg from "pg";
import type { Logger } from "pino";
import { cancelOrder } from "./cancel-order.js";
import type { CatalogPort } from "./catalog-client.js";
import { toRpcError } from "./errors.js";
import { toOrderMessage } from "./order-message.js";
import { createOrderInserter } from "./order-store.js";
import type { OrderWatcher } from "./order-watch.js";
import { placeOrder } from "./place-order.js";
import { getOrder, listOrders, type PageBytes, watchOrder } from "./read-orders.js";

/** What the order RPCs need. */
export interface OrderRoutesDeps {
  readonly pool: pg.Pool;
  readonly outbox: Outbox;
  readonly catalog: CatalogPort;
  readonly catalogTimeoutMs: number;
  readonly watcher: OrderWatcher;
  readonly logger: Logger;
}

/**
 * The OrderService RPCs: wiring between the contract and the use cases. Order ids
 * are made canonical here, at the edge, because the use cases compare them with what
 * PostgreSQL answers (lock maps, watch keys from NOTIFY), which is lower case.
 */
export function createOrderRoutes(deps: OrderRoutesDeps): ServiceImpl<typeof OrderService> {
  const placing = { ...deps, insertOrder: createOrderInserter(deps.pool, deps.outbox) };
  return {
    placeOrder: rpc(async (request, context) => {
      const order = await placeOrder(
        placing,
        {
          customerId: customerIdOf(context),
          idempotencyKey: request.idempotencyKey,
          items: request.items,
          paymentToken: request.paymentToken,
        },
        context.timeoutMs(),
      );
      deps.logger.debug({ orderId: order.orderId, items: order.lines.length }, "order placed");
      return { order: toOrderMessage(order) };
    }),
    getOrder: rpc(async (request, context) => ({
      order: toOrderMessage(await getOrder(deps.pool, customerIdOf(context), canonicalUuid(request.orderId))),
    })),
    listOrders: rpc(async (request, context) => {
      const page = await listOrders(deps.pool, customerIdOf(context), request.pageSize, request.pageToken, pageBytes);
      return { orders: page.orders.map(toOrderMessage), nextPageToken: page.nextPageToken };
    }),
    cancelOrder: rpc(async (request, context) => ({
      order: toOrderMessage(
        await cancelOrder(deps, customerIdOf(context), canonicalUuid(request.orderId), request.reason),
      ),
    })),
    async *watchOrder(request, context) {
      try {
        const orderId = canonicalUuid(request.orderId);
        const orders = watchOrder(deps.pool, deps.watcher, customerIdOf(context), orderId, context.signal);
        for await (const order of orders) yield { order: toOrderMessage(order) };
        // Ended before the order is final: the deadline passed, the client went away or
        // the server is shutting down — the stream ends with that status, not success.
        if (context.signal.aborted) throw ConnectError.from(context.signal.reason);
      } catch (error) {
        throw toRpcError(error);
      }
    },
  };
}

/**
 * A page of orders takes at most half a message, measured as Connect JSON (the larger
 * encoding), which leaves room for the envelope and any client's framing.
 */
const pageBytes: PageBytes = {
  sizeOf: (order) => Buffer.byteLength(toJsonString(OrderSchema, create(OrderSchema, toOrderMessage(order)))),
  max: defaultMaxMessageBytes / 2,
};

/** Maps domain errors of a unary handler to RPC errors. */
function rpc<Req, Ctx, Res>(handler: (request: Req, context: Ctx) => Promise<Res>) {
  return async (request: Req, context: Ctx) => {
    try {
      return await handler(request, context);
    } catch (error) {
      throw toRpcError(error);
    }
  };
}
