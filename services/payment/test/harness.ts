import { randomBytes, randomUUID } from "node:crypto";
import { type DescMessage, fromBinary, type MessageInitShape, type MessageShape, toBinary } from "@bufbuild/protobuf";
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  type StoredMsg,
} from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { signDevToken } from "@shopmesh/auth";
import { allEvents, createEventCatalog, createOutbox, type EventCatalog, publishEvent } from "@shopmesh/events";
import type { StockReservedSchema } from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import { PaymentService } from "@shopmesh/gen/shopmesh/payment/v1/payment_service_pb.js";
import { type RunningService, runService } from "@shopmesh/runtime";
import { createGrpcClient, type GrpcServiceClient } from "@shopmesh/server";
import { createTestPool, testInfrastructure, useTestDatabase, useTestNats, waitFor } from "@shopmesh/testing";
import type pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { createChargeStore } from "../src/charge-store.js";
import { refundKey } from "../src/payment.js";
import {
  type ChargeInstruction,
  type ChargeOutcome,
  type PaymentProvider,
  TransientProviderError,
} from "../src/payment-provider.js";
import { createPaymentService } from "../src/service.js";
import { createSimulatedProvider, type SimulatedProvider } from "../src/simulated-provider.js";
import type { PaymentDeps } from "../src/use-case.js";

// The service logs every retry and dead letter these tests provoke; LOG_LEVEL=warn shows them.
process.env.LOG_LEVEL ??= "silent";

/** A payment row as stored. */
export interface PaymentRow {
  order_id: string;
  payment_id: string;
  status: string;
  amount_minor: string | null;
  currency: string | null;
  provider_reference: string | null;
  refund_reference: string | null;
  decline_reason: string | null;
  attempts: number;
}

/** A provider call held until the test releases it. */
export interface HeldCharge {
  /** Resolves when the service has called the provider. */
  readonly reached: Promise<void>;
  release(): void;
}

/** A promise the test resolves when it chooses, to stage a race: `opened` resolves once `open` is called. */
export function latch(): { readonly opened: Promise<void>; readonly open: () => void } {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/**
 * The simulator, plus holds and outages: a held order's charge is decided by the
 * simulator at once but answered only when the test releases it, to stage races; an
 * order's refunds can fail transiently a number of times before reaching the simulator,
 * as a provider's outage makes them.
 */
function createHoldingProvider(simulator: SimulatedProvider) {
  const holds = new Map<string, { reached: () => void; released: Promise<void> }>();
  const refundOutages = new Map<string, { left: number }>();
  const provider: PaymentProvider = {
    async charge(instruction: ChargeInstruction): Promise<ChargeOutcome> {
      const result = await simulator.charge(instruction);
      const hold = holds.get(instruction.idempotencyKey);
      if (hold) {
        holds.delete(instruction.idempotencyKey);
        hold.reached();
        await hold.released;
      }
      return result;
    },
    async refund(instruction) {
      const outage = refundOutages.get(instruction.idempotencyKey);
      if (outage && outage.left > 0) {
        outage.left--;
        throw new TransientProviderError("simulated outage: 503 from the provider");
      }
      return simulator.refund(instruction);
    },
    cancelCharge: (idempotencyKey) => simulator.cancelCharge(idempotencyKey),
  };
  const hold = (orderId: string): HeldCharge => {
    const reached = latch();
    const released = latch();
    holds.set(orderId, { reached: reached.open, released: released.opened });
    return { reached: reached.opened, release: released.open };
  };
  /** Fails the next `times` refunds of the order's payment; answers how many are left. */
  const failRefunds = (orderId: string, times: number) => {
    const outage = { left: times };
    refundOutages.set(refundKey(orderId), outage);
    return () => outage.left;
  };
  return { provider, hold, failRefunds };
}

/**
 * Runs the payment service in process against a fresh database and NATS namespace
 * for the calling test file, with an inspectable simulator, and offers helpers to
 * inject events and read what the service published.
 */
export function usePaymentService(label: string, env: Record<string, string> = {}) {
  const db = useTestDatabase(label);
  const nats = useTestNats(label);
  const simulator = createSimulatedProvider();
  const { provider, hold, failRefunds } = createHoldingProvider(simulator);
  const devKey = randomBytes(32);
  const clients: GrpcServiceClient<typeof PaymentService>[] = [];
  let service: RunningService | undefined;
  let pool: pg.Pool | undefined;
  let js: JetStreamClient | undefined;
  let jsm: JetStreamManager | undefined;
  const catalog: EventCatalog = createEventCatalog(allEvents, nats.prefix);
  const outbox = createOutbox(catalog);

  beforeAll(async () => {
    service = await runService(createPaymentService({ provider }), {
      DATABASE_URL: db.url,
      NATS_URL: testInfrastructure().natsUrl,
      EVENT_NAMESPACE: nats.prefix,
      GRPC_ADDRESS: "127.0.0.1:0",
      HTTP_ADDRESS: "127.0.0.1:0",
      AUTH_DEV_KEY: devKey.toString("base64url"),
      ...env,
    });
    pool = createTestPool({ connectionString: db.url, max: 2 });
    const nc = await nats.connect();
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await service?.close();
    await pool?.end();
  });

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is only available inside tests`);
    return value;
  };

  const streamMessages = async (name: string): Promise<StoredMsg[]> => {
    const manager = need(jsm, "NATS");
    const { state } = await manager.streams.info(name);
    const messages: StoredMsg[] = [];
    if (state.messages === 0) return messages;
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const message = await manager.streams.getMessage(name, { seq }).catch(() => null);
      if (message) messages.push(message);
    }
    return messages;
  };

  return {
    simulator,
    /** Holds the next charge of an order at the provider until released. */
    hold,
    failRefunds,
    get grpcPort() {
      return need(service, "the service").server.grpcPort;
    },
    /** The service's (migrated) database, for calling the store and use cases directly. */
    get databaseUrl() {
      return db.url;
    },
    /** An outbox writer on the service's event namespace. */
    outbox,

    /** Publishes an event the way the relay does (Nats-Msg-Id derived from the event id). */
    publish<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): Promise<MessageShape<Desc>> {
      return publishEvent(need(js, "NATS"), catalog, schema, init);
    },

    /** Delivers the same event (same event id) again under another Nats-Msg-Id, past JetStream's deduplication. */
    async publishAgain<Desc extends DescMessage>(schema: Desc, event: MessageShape<Desc>): Promise<void> {
      const { eventId, orderId } = event as unknown as { eventId: string; orderId: string };
      const headers = natsHeaders();
      headers.set("Shopmesh-Event-Id", eventId);
      headers.set("Shopmesh-Event-Type", schema.typeName);
      headers.set("Shopmesh-Key", orderId);
      await need(js, "NATS").publish(catalog.route(schema).subject, toBinary(schema, event), {
        headers,
        msgID: `again-${randomUUID()}`,
      });
    },

    /** Publishes raw bytes on an event's subject. */
    async publishRaw(schema: DescMessage, data: Uint8Array): Promise<void> {
      await need(js, "NATS").publish(catalog.route(schema).subject, data, { msgID: `raw-${randomUUID()}` });
    },

    /** A StockReserved for a new order (or `orderId`), charging `amountMinor` USD with `token`. */
    stockReserved(token: string, orderId: string = randomUUID(), amountMinor = 1999n) {
      return {
        orderId,
        items: [{ sku: "SKU-000042", quantity: 2 }],
        total: { amountMinor, currencyCode: "USD" },
        paymentToken: token,
      } satisfies MessageInitShape<typeof StockReservedSchema>;
    },

    /**
     * Waits until the payment consumer of `stream` has finished (acked or
     * dead-lettered) every message of the stream it reads — those on its subjects.
     */
    async waitUntilHandled(stream: "INVENTORY" | "ORDERS", durable = "payment"): Promise<void> {
      const manager = need(jsm, "NATS");
      const name = catalog.streamName(stream);
      await waitFor(
        async () => {
          const info = await manager.consumers.info(name, durable);
          return info.num_pending === 0 && info.num_ack_pending === 0;
        },
        { description: `${durable} consumer of ${name} with nothing pending` },
      );
    },

    /** The events of `schema` about `orderId` on its stream. */
    async events<Desc extends DescMessage>(schema: Desc, orderId: string): Promise<MessageShape<Desc>[]> {
      const subject = catalog.route(schema).subject;
      return (await streamMessages(catalog.route(schema).stream))
        .filter((message) => message.subject === subject)
        .map((message) => fromBinary(schema, message.data))
        .filter((event) => (event as unknown as { orderId: string }).orderId === orderId);
    },

    /** Messages of the dead-letter stream. */
    async deadLetters(): Promise<StoredMsg[]> {
      return streamMessages(catalog.deadLetterStream);
    },

    /** What the use cases work with, on `pool` (one whose statements a test watches, say) and the simulator. */
    depsOn(pool: pg.Pool): PaymentDeps {
      return { pool, charges: createChargeStore(pool, outbox), outbox, provider: simulator };
    },

    async row(orderId: string): Promise<PaymentRow | undefined> {
      const { rows } = await need(pool, "the pool").query<PaymentRow>("SELECT * FROM payments WHERE order_id = $1", [
        orderId,
      ]);
      return rows[0];
    },

    async sql(text: string, values: unknown[] = []): Promise<void> {
      await need(pool, "the pool").query(text, values);
    },

    /** A gRPC client of PaymentService calling with a service token, a customer token, or none. */
    async client(as: "service" | "customer" | "nobody"): Promise<GrpcServiceClient<typeof PaymentService>> {
      const token =
        as === "nobody"
          ? undefined
          : await signDevToken(devKey, {
              role: as,
              subject: as === "service" ? "order" : "customer-1",
              issuer: "shopmesh-dev",
              audience: "shopmesh",
            });
      const client = createGrpcClient(PaymentService, {
        target: `127.0.0.1:${need(service, "the service").server.grpcPort}`,
        defaultTimeoutMs: 5_000,
        headers: (): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {}),
      });
      clients.push(client);
      return client;
    },
  };
}
