import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { CatalogService } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import { OrderService } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import type { StorefrontConfig } from "./config.js";
import { traceParentInterceptor } from "./tracing.js";

/** The two services the storefront talks to, over the Connect protocol. */
export interface Clients {
  readonly catalog: Client<typeof CatalogService>;
  readonly orders: Client<typeof OrderService>;
}

/**
 * Connect-Web clients from the generated service descriptors. Order calls carry
 * the signed-in customer's bearer token; catalog calls need none. A call answered
 * UNAUTHENTICATED (expired or revoked token) calls `onUnauthenticated`, a stream too.
 */
export function createClients(
  config: StorefrontConfig,
  token: () => string | undefined,
  onUnauthenticated: () => void = () => {},
): Clients {
  const refused = (error: unknown) => {
    if (ConnectError.from(error).code === Code.Unauthenticated) onUnauthenticated();
  };
  const bearer: Interceptor = (next) => async (req) => {
    const value = token();
    if (value) req.header.set("authorization", `Bearer ${value}`);
    try {
      const res = await next(req);
      // A server stream (WatchOrder) has its headers before the server decides: its
      // error comes at the end of the stream, while the messages are read.
      return res.stream ? { ...res, message: noticing(res.message, refused) } : res;
    } catch (error) {
      refused(error);
      throw error;
    }
  };
  return {
    catalog: createClient(
      CatalogService,
      createConnectTransport({ baseUrl: config.catalogUrl, interceptors: [traceParentInterceptor] }),
    ),
    orders: createClient(
      OrderService,
      createConnectTransport({ baseUrl: config.orderUrl, interceptors: [bearer, traceParentInterceptor] }),
    ),
  };
}

/** `messages` as they come, telling `onError` of the error that ends them before it is thrown. */
async function* noticing<T>(messages: AsyncIterable<T>, onError: (error: unknown) => void): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    onError(error);
    throw error;
  }
}
