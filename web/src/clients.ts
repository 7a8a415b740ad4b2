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
 * UNAUTHENTICATED (expired or revoked token) calls `onUnauthenticated`.
 */
export function createClients(
  config: StorefrontConfig,
  token: () => string | undefined,
  onUnauthenticated: () => void = () => {},
): Clients {
  const bearer: Interceptor = (next) => async (req) => {
    const value = token();
    if (value) req.header.set("authorization", `Bearer ${value}`);
    try {
      return await next(req);
    } catch (error) {
      if (ConnectError.from(error).code === Code.Unauthenticated) onUnauthenticated();
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
