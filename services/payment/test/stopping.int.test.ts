import { randomUUID } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { allEvents, createEventCatalog, publishEvent } from "@shopmesh/events";
import { StockReservedSchema } from "@shopmesh/gen/shopmesh/inventory/v1/inventory_events_pb.js";
import { runService } from "@shopmesh/runtime";
import { createTestPool, testInfrastructure, useTestDatabase, useTestNats, waitFor } from "@shopmesh/testing";
import { describe, expect, test } from "vitest";
import type { ChargeOutcome, PaymentProvider } from "../src/payment-provider.js";
import { createPaymentService } from "../src/service.js";
import { createSimulatedProvider } from "../src/simulated-provider.js";

process.env.LOG_LEVEL ??= "silent";

const db = useTestDatabase("payment stopping");
const nats = useTestNats("payment stopping");

describe("a replica stopped while charges are at the provider", () => {
  test("records every outcome and acknowledges its events before close() returns", async () => {
    const simulator = createSimulatedProvider();
    let reached = () => {};
    const allReached = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const orderIds = Array.from({ length: 4 }, () => randomUUID());
    let atProvider = 0;
    const provider: PaymentProvider = {
      async charge(instruction): Promise<ChargeOutcome> {
        const outcome = await simulator.charge(instruction);
        if (++atProvider === orderIds.length) reached();
        await released;
        return outcome;
      },
      refund: (instruction) => simulator.refund(instruction),
      cancelCharge: (key) => simulator.cancelCharge(key),
    };
    const service = await runService(createPaymentService({ provider }), {
      DATABASE_URL: db.url,
      NATS_URL: testInfrastructure().natsUrl,
      EVENT_NAMESPACE: nats.prefix,
      GRPC_ADDRESS: "127.0.0.1:0",
      HTTP_ADDRESS: "127.0.0.1:0",
      AUTH_DEV_KEY: Buffer.alloc(32, 7).toString("base64url"),
    });
    const pool = createTestPool({ connectionString: db.url, max: 1 });
    try {
      const nc = await nats.connect();
      const js = jetstream(nc);
      const catalog = createEventCatalog(allEvents, nats.prefix);
      for (const orderId of orderIds) {
        await publishEvent(js, catalog, StockReservedSchema, {
          orderId,
          items: [{ sku: "SKU-000042", quantity: 1 }],
          total: { amountMinor: 1999n, currencyCode: "USD" },
          paymentToken: "tok_visa",
        });
      }
      await allReached;

      const jsm = await jetstreamManager(nc);
      const durable = () => jsm.consumers.info(catalog.streamName("INVENTORY"), "payment");
      const closing = service.close();
      // Released only once the replica has stopped pulling: the charges end during its stop().
      await waitFor(async () => (await durable()).num_waiting === 0, { description: "the pulls closed" });
      release();
      await closing;

      const { rows } = await pool.query<{ order_id: string; status: string }>(
        "SELECT order_id, status FROM payments WHERE order_id = ANY($1::uuid[])",
        [orderIds],
      );
      expect(rows.map((row) => row.status)).toEqual(orderIds.map(() => "captured"));
      const { rows: outbox } = await pool.query("SELECT FROM outbox WHERE event_type LIKE '%PaymentCaptured'");
      expect(outbox).toHaveLength(orderIds.length);
      const info = await durable();
      expect(info.num_ack_pending).toBe(0);
      expect(info.num_pending).toBe(0);
      expect(simulator.counts()).toMatchObject({ chargeCalls: orderIds.length, captures: orderIds.length });
    } finally {
      await service.close().catch(() => undefined);
      await pool.end();
    }
  });
});
