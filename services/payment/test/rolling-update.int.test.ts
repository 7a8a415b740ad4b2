import { randomUUID } from "node:crypto";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate } from "@shopmesh/pg";
import { migrationDirs } from "@shopmesh/runtime";
import { createTestDatabase, createTestPool, type TestDatabase } from "@shopmesh/testing";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { beginCharges, findPayment } from "../src/payment-store.js";
import { paymentService } from "../src/service.js";

// In a rolling update the old replicas keep serving while a new pod migrates. Their
// named statements are prepared once per pooled connection, and PostgreSQL refuses to
// run one whose result would now have other columns ("cached plan must not change
// result type"): a migration must not change what they read.
const databases: TestDatabase[] = [];
const folders: string[] = [];
afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

const outcome = (query: Promise<unknown>) =>
  query.then(
    () => "answered",
    (error: { code?: string; message?: string }) => `failed: ${error.code} ${error.message}`,
  );

describe("the payment database during a rolling update", () => {
  it("keeps answering the previous release's statements (SELECT * FROM payments) once this one migrates", async () => {
    const database = await createTestDatabase("pay_rolling_old");
    databases.push(database);
    // The schema the previous release left: every migration before 005_refund_reason.
    const [events, payment] = migrationDirs(paymentService) as [string, string];
    const previous = await mkdtemp(join(tmpdir(), "payment-migrations-"));
    folders.push(previous);
    await cp(payment, previous, { recursive: true, filter: (source) => !source.includes("005_refund_reason") });
    await migrate({ databaseUrl: database.url, dir: [events, previous] });
    // An old replica's connection, with its payment-find prepared.
    const old = new pg.Client({ connectionString: database.url });
    await old.connect();
    try {
      const oldFind = {
        name: "payment-find",
        text: "SELECT * FROM payments WHERE order_id = $1",
        values: [randomUUID()],
      };
      expect(await outcome(old.query(oldFind))).toBe("answered");
      expect(await migrate({ databaseUrl: database.url, dir: migrationDirs(paymentService) })).toEqual([
        "005_refund_reason.up",
      ]);
      expect(await outcome(old.query(oldFind))).toBe("answered");
    } finally {
      await old.end();
    }
  });

  it("keeps answering this release's statements once a later migration adds a column to payments", async () => {
    const database = await createTestDatabase("pay_rolling_new");
    databases.push(database);
    await migrate({ databaseUrl: database.url, dir: migrationDirs(paymentService) });
    const serving = createTestPool({ connectionString: database.url, max: 1 });
    try {
      const orderId = randomUUID();
      expect(await outcome(findPayment(serving, orderId))).toBe("answered");
      expect(await outcome(beginCharges(serving, [orderId]))).toBe("answered");
      await serving.query("ALTER TABLE payments ADD COLUMN added_later text");
      expect(await outcome(findPayment(serving, orderId))).toBe("answered");
      expect(await outcome(beginCharges(serving, [randomUUID()]))).toBe("answered");
    } finally {
      await serving.end();
    }
  });
});
