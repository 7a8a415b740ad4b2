import { OrderService } from "@shopmesh/gen/shopmesh/order/v1/order_service_pb.js";
import { pino } from "pino";
import { type RunningServer, registerService, startServer } from "../src/index.js";

/** The public order service on free ports, answering everything empty: its Connect listener's edge under test. */
export async function startEmptyOrders(options: { corsOrigins?: readonly string[] } = {}): Promise<RunningServer> {
  return startServer({
    logger: pino({ level: "silent" }),
    grpcAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    ...options,
    services: [
      registerService(OrderService, {
        placeOrder: () => ({}),
        getOrder: () => ({}),
        listOrders: () => ({}),
        cancelOrder: () => ({}),
        async *watchOrder() {},
      }),
    ],
  });
}
