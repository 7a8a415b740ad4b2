import type { JetStreamManager } from "@nats-io/jetstream";
import type pg from "pg";
import type { ServiceName } from "./replicated-mesh.js";

/** Which subjects each durable consumer applies, by the service that publishes them (docs/architecture.md). */
const consumed: Record<string, Partial<Record<ServiceName, readonly string[]>>> = {
  inventory: { order: ["orders.placed", "orders.confirmed", "orders.cancelled"] },
  order: {
    inventory: ["inventory.stock.reserved", "inventory.stock.rejected", "inventory.stock.released"],
    payment: ["payments.captured", "payments.declined", "payments.refunded"],
  },
  payment: { inventory: ["inventory.stock.reserved"], order: ["orders.cancelled"] },
};
const consumerHome: Record<string, ServiceName> = { inventory: "inventory", order: "order", payment: "payment" };
const streamOf: Record<ServiceName, string> = { order: "ORDERS", inventory: "INVENTORY", payment: "PAYMENTS" };

/** What the databases and streams say after a run, and every invariant that does not hold. */
export interface ScaleFindings {
  readonly statuses: Record<string, number>;
  /** Events applied per consumer, per replica (database role). */
  readonly consumers: Record<string, Record<string, number>>;
  /** Outbox rows marked published per service, per replica. */
  readonly relays: Record<string, Record<string, number>>;
  /** Messages in each stream against the outbox rows written for it. */
  readonly streams: Record<string, { readonly messages: number; readonly outboxRows: number }>;
  readonly problems: readonly string[];
}

/**
 * Checks the run's invariants (../shared/reliability.md) on the three databases and
 * the streams: every acknowledged order exists exactly once and is final; money
 * matches confirmed orders; stock is conserved and nothing stays reserved; every
 * outbox row was published, and each stream holds exactly one message per row (a
 * row published twice would show as an extra message); every consumer applied
 * exactly the events published for it; nothing went to the dead-letter stream.
 */
export async function checkScaleRun(input: {
  readonly pools: Record<ServiceName, pg.Pool>;
  readonly jsm: JetStreamManager;
  readonly namespace: string;
  readonly acknowledged: ReadonlySet<string>;
  readonly initialStock: ReadonlyMap<string, number>;
}): Promise<ScaleFindings> {
  const { pools, jsm, namespace, acknowledged, initialStock } = input;
  const problems: string[] = [];
  const orders = await pools.order.query<{ order_id: string; status: string; total_minor: string }>(
    "SELECT order_id, status, total_minor FROM orders",
  );
  const statuses: Record<string, number> = {};
  for (const order of orders.rows) statuses[order.status] = (statuses[order.status] ?? 0) + 1;
  const known = new Set(orders.rows.map((order) => order.order_id));
  for (const id of acknowledged) if (!known.has(id)) problems.push(`acknowledged order ${id} is missing`);
  if (orders.rowCount !== acknowledged.size)
    problems.push(`${orders.rowCount} orders stored for ${acknowledged.size} acknowledged`);
  for (const order of orders.rows)
    if (!["confirmed", "rejected", "cancelled"].includes(order.status))
      problems.push(`order ${order.order_id} is still ${order.status}`);

  const payments = await pools.payment.query<{ order_id: string; status: string; amount_minor: string | null }>(
    "SELECT order_id, status, amount_minor FROM payments",
  );
  const paymentOf = new Map(payments.rows.map((row) => [row.order_id, row]));
  for (const order of orders.rows) {
    const payment = paymentOf.get(order.order_id);
    if (order.status === "confirmed" && (payment?.status !== "captured" || payment.amount_minor !== order.total_minor))
      problems.push(`confirmed order ${order.order_id} has payment ${JSON.stringify(payment)}`);
    if (order.status !== "confirmed" && payment?.status === "captured")
      problems.push(`${order.status} order ${order.order_id} kept its capture`);
  }

  const stock = await pools.inventory.query<{ sku: string; available: string; reserved: string; sold: string }>(
    "SELECT sku, available, reserved, sold FROM products",
  );
  const bought = await pools.order.query<{ sku: string; quantity: string }>(
    `SELECT l.sku, sum(l.quantity)::text AS quantity FROM order_lines l JOIN orders o USING (order_id)
      WHERE o.status = 'confirmed' GROUP BY l.sku`,
  );
  const boughtOf = new Map(bought.rows.map((row) => [row.sku, Number(row.quantity)]));
  for (const row of stock.rows) {
    const [available, reserved, sold] = [Number(row.available), Number(row.reserved), Number(row.sold)];
    if (available + reserved + sold !== initialStock.get(row.sku))
      problems.push(`${row.sku}: ${available}+${reserved}+${sold} ≠ ${initialStock.get(row.sku)}`);
    if (reserved !== 0) problems.push(`${row.sku}: ${reserved} units still reserved`);
    if (sold !== (boughtOf.get(row.sku) ?? 0))
      problems.push(`${row.sku}: sold ${sold} ≠ bought ${boughtOf.get(row.sku) ?? 0}`);
  }

  const relays: Record<string, Record<string, number>> = {};
  const streams: Record<string, { messages: number; outboxRows: number }> = {};
  const published: Record<string, number> = {};
  for (const service of ["order", "inventory", "payment"] as const) {
    const rows = await pools[service].query<{ subject: string; published_by: string | null; count: string }>(
      "SELECT subject, published_by, count(*) AS count FROM outbox GROUP BY subject, published_by",
    );
    let total = 0;
    const by: Record<string, number> = {};
    relays[service] = by;
    for (const row of rows.rows) {
      const count = Number(row.count);
      total += count;
      const subject = row.subject.slice(namespace.length + 1);
      published[`${service}:${subject}`] = (published[`${service}:${subject}`] ?? 0) + count;
      if (row.published_by === null) problems.push(`${count} ${service} outbox rows (${subject}) never published`);
      by[row.published_by ?? "unpublished"] = (by[row.published_by ?? "unpublished"] ?? 0) + count;
    }
    const stream = `${namespace}_${streamOf[service]}`;
    const messages = (await jsm.streams.info(stream)).state.messages;
    streams[stream] = { messages, outboxRows: total };
    if (messages !== total) problems.push(`${stream} holds ${messages} messages for ${total} outbox rows`);
  }
  const deadLetters = (await jsm.streams.info(`${namespace}_DEADLETTER`).catch(() => undefined))?.state.messages ?? 0;
  if (deadLetters > 0) problems.push(`${deadLetters} events were dead-lettered`);

  const consumers: Record<string, Record<string, number>> = {};
  for (const [consumer, sources] of Object.entries(consumed)) {
    const home = consumerHome[consumer] ?? "order";
    const rows = await pools[home].query<{ processed_by: string; count: string }>(
      "SELECT processed_by, count(*) AS count FROM inbox WHERE consumer = $1 GROUP BY processed_by",
      [consumer],
    );
    consumers[consumer] = Object.fromEntries(rows.rows.map((row) => [row.processed_by, Number(row.count)]));
    const applied = rows.rows.reduce((sum, row) => sum + Number(row.count), 0);
    // payment leaves a declined payment alone on OrderCancelled and writes no inbox row
    // for it (cancel-payment.ts): those cancellations are not applied events.
    const unrecorded = consumer === "payment" ? payments.rows.filter((row) => row.status === "declined").length : 0;
    const expected =
      -unrecorded +
      Object.entries(sources).reduce(
        (sum, [service, subjects]) =>
          sum + (subjects ?? []).reduce((n, subject) => n + (published[`${service}:${subject}`] ?? 0), 0),
        0,
      );
    if (applied !== expected)
      problems.push(`consumer ${consumer} applied ${applied} events of ${expected} published for it`);
  }
  return { statuses, consumers, relays, streams, problems };
}
