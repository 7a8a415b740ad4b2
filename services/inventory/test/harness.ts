import { randomBytes, randomUUID } from "node:crypto";
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { signDevToken } from "@shopmesh/auth";
import { allEvents, createEventCatalog, type EventCatalog } from "@shopmesh/events";
import { CatalogService } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import { StockService } from "@shopmesh/gen/shopmesh/inventory/v1/stock_service_pb.js";
import { type RunningService, runService } from "@shopmesh/runtime";
import { createGrpcClient, type GrpcServiceClient } from "@shopmesh/server";
import { createTestPool, useTestDatabase, useTestNats, waitFor } from "@shopmesh/testing";
import type pg from "pg";
import { afterAll, beforeAll } from "vitest";
import type { NewProduct } from "../src/product.js";
import { seedCatalog } from "../src/seed.js";
import { inventoryService } from "../src/service.js";

/** The stock buckets of a SKU, as numbers. */
export interface Stock {
  available: number;
  reserved: number;
  sold: number;
}

/** An inventory service running in this process on its own database and stream namespace. */
export interface InventoryHarness {
  readonly service: RunningService;
  /** A pool on the service's database, for fixtures and checking state. */
  readonly pool: pg.Pool;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly catalog: EventCatalog;
  /** CatalogService over gRPC, anonymous. */
  readonly catalogClient: GrpcServiceClient<typeof CatalogService>;
  /** StockService over gRPC with a service token. */
  readonly stockClient: GrpcServiceClient<typeof StockService>;
  /** Base URL of the Connect (HTTP/1.1) listener. */
  readonly httpUrl: string;
  readonly grpcTarget: string;
  token(role: "customer" | "service", subject?: string): Promise<string>;
}

/**
 * Starts the inventory service for the tests of the calling file: a fresh database,
 * a private stream namespace, ephemeral ports and a random dev signing key; stops it
 * and cleans up after them.
 */
export function useInventoryService(label: string, env: Record<string, string> = {}): InventoryHarness {
  const db = useTestDatabase(label);
  const nats = useTestNats(label);
  const key = randomBytes(32);
  let harness: InventoryHarness | undefined;

  beforeAll(async () => {
    const service = await runService(inventoryService, {
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      EVENT_NAMESPACE: nats.prefix,
      GRPC_ADDRESS: "127.0.0.1:0",
      HTTP_ADDRESS: "127.0.0.1:0",
      AUTH_DEV_KEY: key.toString("base64url"),
      ...env,
    });
    const connection = await nats.connect();
    const token = (role: "customer" | "service", subject = `test-${role}`) =>
      signDevToken(key, { role, subject, issuer: "shopmesh-dev", audience: "shopmesh" });
    const serviceToken = await token("service");
    const grpcTarget = `127.0.0.1:${service.server.grpcPort}`;
    harness = {
      service,
      pool: createTestPool({ connectionString: db.url, max: 4 }),
      js: jetstream(connection),
      jsm: await jetstreamManager(connection),
      catalog: createEventCatalog(allEvents, nats.prefix),
      catalogClient: createGrpcClient(CatalogService, { target: grpcTarget, defaultTimeoutMs: 5_000 }),
      stockClient: createGrpcClient(StockService, {
        target: grpcTarget,
        defaultTimeoutMs: 10_000,
        headers: () => ({ authorization: `Bearer ${serviceToken}` }),
      }),
      httpUrl: `http://127.0.0.1:${service.server.httpPort}`,
      grpcTarget,
      token,
    };
  });

  afterAll(async () => {
    if (harness === undefined) return;
    harness.catalogClient.close();
    harness.stockClient.close();
    await harness.service.close();
    await harness.pool.end();
  });

  return new Proxy({} as InventoryHarness, {
    get(_, property) {
      if (harness === undefined) throw new Error("the inventory service is only available inside tests");
      return harness[property as keyof InventoryHarness];
    },
  });
}

/** Puts products with the given available units into the catalog (overwriting earlier ones). */
export async function addProducts(
  { pool }: Pick<InventoryHarness, "pool">,
  stock: Record<string, number>,
): Promise<void> {
  const products: NewProduct[] = Object.entries(stock).map(([sku, available]) => ({
    sku,
    name: `Test product ${sku}`,
    description: "A product made by a test.",
    category: "test",
    price: { amountMinor: 1_000n, currency: "USD" },
    available: BigInt(available),
  }));
  await seedCatalog(pool, products);
}

/** The stock buckets of a SKU. */
export async function stockOf({ pool }: Pick<InventoryHarness, "pool">, sku: string): Promise<Stock> {
  const { rows } = await pool.query<Stock>(
    "SELECT available::int, reserved::int, sold::int FROM products WHERE sku = $1",
    [sku],
  );
  if (rows[0] === undefined) throw new Error(`no product ${sku}`);
  return rows[0];
}

/** The status of an order's reservation, if it has one. */
export async function reservationStatusOf({ pool }: Pick<InventoryHarness, "pool">, orderId: string) {
  const { rows } = await pool.query<{ status: string }>("SELECT status FROM reservations WHERE order_id = $1", [
    orderId,
  ]);
  return rows[0]?.status;
}

/** Every event of a type on its stream, read with a JetStream ordered consumer. */
export async function streamEvents<Desc extends DescMessage>(
  { js, catalog }: Pick<InventoryHarness, "js" | "catalog">,
  schema: Desc,
): Promise<MessageShape<Desc>[]> {
  const route = catalog.route(schema);
  const consumer = await js.consumers.get(route.stream, { filter_subjects: route.subject });
  try {
    const pending = (await consumer.info()).num_pending;
    const events: MessageShape<Desc>[] = [];
    if (pending === 0) return events;
    for await (const message of await consumer.fetch({ max_messages: pending, expires: 5_000 })) {
      events.push(fromBinary(schema, message.data));
      if (events.length === pending) break;
    }
    return events;
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}

/** The events of a type on its stream that belong to one order. */
export async function orderEvents<Desc extends DescMessage>(
  harness: Pick<InventoryHarness, "js" | "catalog">,
  schema: Desc,
  orderId: string,
): Promise<MessageShape<Desc>[]> {
  const events = await streamEvents(harness, schema);
  return events.filter((event) => (event as { orderId?: string }).orderId === orderId);
}

/**
 * Publishes an event (or the same event again, by its id) with a message id of its
 * own, as a republished outbox row would arrive: JetStream does not deduplicate it.
 * Answers the event and its stream sequence.
 */
export async function publishAgain<Desc extends DescMessage>(
  { js, catalog }: Pick<InventoryHarness, "js" | "catalog">,
  schema: Desc,
  init: MessageInitShape<Desc>,
): Promise<{ event: MessageShape<Desc>; seq: number }> {
  const event = create(schema, { eventId: randomUUID(), occurTime: timestampNow(), ...init } as MessageInitShape<Desc>);
  const { eventId, orderId } = event as unknown as { eventId: string; orderId: string };
  const headers = natsHeaders();
  headers.set("Shopmesh-Event-Id", eventId);
  headers.set("Shopmesh-Event-Type", schema.typeName);
  headers.set("Shopmesh-Key", orderId);
  const ack = await js.publish(catalog.route(schema).subject, toBinary(schema, event), {
    headers,
    msgID: `again-${randomUUID()}`,
  });
  return { event, seq: ack.seq };
}

/** Waits until the "inventory" consumer has settled (acked or dead-lettered) every message up to `seq`. */
export async function consumedThrough({ jsm, catalog }: Pick<InventoryHarness, "jsm" | "catalog">, seq: number) {
  await waitFor(
    async () => (await jsm.consumers.info(catalog.streamName("ORDERS"), "inventory")).ack_floor.stream_seq >= seq,
    { description: `the inventory consumer to settle ORDERS message ${seq}` },
  );
}
