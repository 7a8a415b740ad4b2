import { randomBytes, randomUUID } from "node:crypto";
import { signDevToken } from "@shopmesh/auth";
import { seedCatalog } from "@shopmesh/inventory/seed";
import { createPool, databaseUrl } from "@shopmesh/pg";
import { createTestNats, testInfrastructure, waitFor } from "@shopmesh/testing";
import {
  dropMeshDatabases,
  freeMeshPorts,
  type LaunchedMesh,
  launchMesh,
  type ServiceName,
} from "../../tools/mesh-processes.js";
import type { NewProduct } from "./fixtures.js";
import { type OtlpReceiver, startOtlpReceiver } from "./otlp-receiver.js";

export type { ServiceName };

/** The three services as processes with OpenTelemetry, exporting to a local receiver. */
export interface TracedMesh {
  readonly receiver: OtlpReceiver;
  /** Their event namespace: subjects are `${namespace}.orders.placed` and so on. */
  readonly namespace: string;
  port(service: ServiceName, listener: "grpc" | "http" | "metrics"): number;
  customerToken(customerId: string): Promise<string>;
  seed(products: readonly NewProduct[]): Promise<void>;
  /**
   * Places a one-item order with the Connect protocol (JSON), as a browser would, and
   * waits for its final status: the order as GetOrder then answers it.
   */
  checkout(token: string, order: CheckoutRequest): Promise<{ orderId: string; status: string }>;
  /** Stops the services, drops their databases and streams, closes the receiver. */
  close(): Promise<void>;
}

/** One item of one SKU, paid with a test card; `headers` go with PlaceOrder (a `traceparent`, say). */
export interface CheckoutRequest {
  readonly sku: string;
  readonly paymentToken: string;
  readonly headers?: Record<string, string>;
}

const finalStatuses = ["ORDER_STATUS_CONFIRMED", "ORDER_STATUS_REJECTED", "ORDER_STATUS_CANCELLED"];

/** What a test adds: service settings, and where their output lines go. */
export interface TracedMeshOptions {
  readonly env?: Record<string, string>;
  readonly onLine?: (service: ServiceName, line: string) => void;
}

/**
 * Starts the services the way the images do (the telemetry register file imported
 * first), on fresh databases, a NATS namespace and free ports, every span exported
 * at once over OTLP/HTTP JSON to a receiver the test reads.
 */
export async function startTracedMesh(label: string, options: TracedMeshOptions = {}): Promise<TracedMesh> {
  const receiver = await startOtlpReceiver();
  const nats = createTestNats(label);
  const adminUrl = testInfrastructure().databaseUrl;
  const databasePrefix = `t_${label}_${randomBytes(5).toString("hex")}`;
  const key = randomBytes(32);
  const ports = await freeMeshPorts();
  let mesh: LaunchedMesh | undefined;
  const close = async () => {
    await mesh?.stop();
    await dropMeshDatabases(adminUrl, databasePrefix);
    await nats.cleanup();
    await receiver.close();
  };
  try {
    mesh = await launchMesh({
      postgresUrl: adminUrl,
      natsUrl: nats.url,
      authDevKey: key.toString("base64url"),
      databasePrefix,
      ports,
      env: {
        EVENT_NAMESPACE: nats.prefix,
        SEED_CATALOG: "false",
        LOG_LEVEL: "warn",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_TRACES_SAMPLER: "parentbased_always_on",
        OTEL_BSP_SCHEDULE_DELAY: "50",
        ...options.env,
      },
      onLine: options.onLine ?? (() => {}),
      onExit: (service, code) => options.onLine?.(service, `exited with ${code}`),
    });
  } catch (error) {
    await close();
    throw error;
  }
  return {
    receiver,
    namespace: nats.prefix,
    port: (service, listener) => ports[service][listener],
    customerToken: (customerId) =>
      signDevToken(key, { role: "customer", subject: customerId, issuer: "shopmesh-dev", audience: "shopmesh" }),
    async seed(products) {
      const inventory = createPool({
        url: databaseUrl(adminUrl, `${databasePrefix}_inventory`),
        applicationName: "traced-mesh-seed",
        onError: () => {},
      });
      try {
        await seedCatalog(inventory, products);
      } finally {
        await inventory.end();
      }
    },
    async checkout(token, { sku, paymentToken, headers = {} }) {
      const callOrders = async (method: string, body: unknown, extraHeaders: Record<string, string> = {}) => {
        const response = await fetch(`http://127.0.0.1:${ports.order.http}/shopmesh.order.v1.OrderService/${method}`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...extraHeaders },
          body: JSON.stringify(body),
        });
        const json = (await response.json()) as { order?: { orderId: string; status: string } };
        if (!response.ok || !json.order)
          throw new Error(`${method} failed: ${response.status} ${JSON.stringify(json)}`);
        return json.order;
      };
      const placed = await callOrders(
        "PlaceOrder",
        { idempotencyKey: randomUUID(), items: [{ sku, quantity: 1 }], paymentToken },
        headers,
      );
      return waitFor(
        async () => {
          const current = await callOrders("GetOrder", { orderId: placed.orderId });
          return finalStatuses.includes(current.status) ? current : undefined;
        },
        { timeoutMs: 20_000, description: `order ${placed.orderId} to settle` },
      );
    },
    close,
  };
}
