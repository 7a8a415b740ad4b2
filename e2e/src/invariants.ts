import { jetstreamManager } from "@nats-io/jetstream";
import { allEvents, createEventCatalog, listDeadLetters } from "@shopmesh/events";
import { waitFor } from "@shopmesh/testing";
import type { Mesh } from "./mesh.js";

/** The statuses an order ends in. */
const finalStatuses = ["confirmed", "rejected", "cancelled"];

/** What the invariants found, for assertions with readable diffs. */
export interface InvariantReport {
  /** Orders not in a final status. */
  readonly unfinished: string[];
  /**
   * Orders charged more than once, or whose provider captures disagree with the payment
   * record; captures for an id that is no order (an operator's Charge) not refunded.
   */
  readonly moneyProblems: string[];
  /** Sum of captured (not refunded) payments, and the totals of confirmed orders. */
  readonly capturedMinor: bigint;
  readonly confirmedMinor: bigint;
  /**
   * SKUs whose initial stock ≠ available + reserved + sold, whose sold ≠ confirmed
   * quantities, or whose reserved ≠ what live reservations hold; and orders in a final
   * status whose units inventory still holds (held for ever). An operator's reservation
   * for an order the order service does not know is not a problem.
   */
  readonly stockProblems: string[];
}

/**
 * Checks the invariants of ../shared/reliability.md across the three databases and
 * the payment provider's ledger: orders final; at most one capture per order and
 * captured money equal to confirmed totals; stock conserved and equal to what
 * confirmed orders bought.
 */
export async function checkInvariants(mesh: Mesh, initialStock: ReadonlyMap<string, bigint>): Promise<InvariantReport> {
  const orders = await mesh.pools.order.query<{ order_id: string; status: string; total_minor: string }>(
    "SELECT order_id, status, total_minor FROM orders",
  );
  const payments = await mesh.pools.payment.query<{ order_id: string; status: string; amount_minor: string | null }>(
    "SELECT order_id, status, amount_minor FROM payments",
  );
  const paymentOf = new Map(payments.rows.map((row) => [row.order_id, row]));
  const moneyProblems: string[] = [];
  let confirmedMinor = 0n;
  for (const order of orders.rows) {
    const charge = mesh.provider.chargeOf(order.order_id);
    const captured = charge?.outcome?.outcome === "captured";
    const refunded = mesh.provider.refundOf(`refund:${order.order_id}`) !== undefined;
    const payment = paymentOf.get(order.order_id);
    if (order.status === "confirmed") {
      confirmedMinor += BigInt(order.total_minor);
      if (!captured || refunded || payment?.status !== "captured")
        moneyProblems.push(`${order.order_id} confirmed but not captured`);
    } else if (captured && !refunded) {
      moneyProblems.push(`${order.order_id} is ${order.status} but its capture was not refunded`);
    }
  }
  // An operator's Charge for an id that is no order: its capture must have been refunded.
  const orderIds = new Set(orders.rows.map((order) => order.order_id));
  for (const payment of payments.rows) {
    if (orderIds.has(payment.order_id)) continue;
    const captured = mesh.provider.chargeOf(payment.order_id)?.outcome?.outcome === "captured";
    if (captured && mesh.provider.refundOf(`refund:${payment.order_id}`) === undefined) {
      moneyProblems.push(`${payment.order_id} is no order, and its capture was not refunded`);
    }
  }
  const capturedMinor = payments.rows
    .filter((row) => row.status === "captured")
    .reduce((sum, row) => sum + BigInt(row.amount_minor ?? 0), 0n);

  const stock = await mesh.pools.inventory.query<{ sku: string; available: string; reserved: string; sold: string }>(
    "SELECT sku, available, reserved, sold FROM products WHERE sku = ANY($1)",
    [[...initialStock.keys()]],
  );
  const confirmedLines = await mesh.pools.order.query<{ sku: string; quantity: string }>(
    `SELECT l.sku, sum(l.quantity)::text AS quantity FROM order_lines l JOIN orders o USING (order_id)
      WHERE o.status = 'confirmed' GROUP BY l.sku`,
  );
  const boughtOf = new Map(confirmedLines.rows.map((row) => [row.sku, BigInt(row.quantity)]));
  const stockProblems: string[] = [];
  for (const row of stock.rows) {
    const [available, reserved, sold] = [BigInt(row.available), BigInt(row.reserved), BigInt(row.sold)];
    const initial = initialStock.get(row.sku) ?? 0n;
    if (available + reserved + sold !== initial)
      stockProblems.push(`${row.sku}: ${available}+${reserved}+${sold} ≠ ${initial}`);
    if (sold !== (boughtOf.get(row.sku) ?? 0n))
      stockProblems.push(`${row.sku}: sold ${sold} ≠ bought ${boughtOf.get(row.sku) ?? 0n}`);
  }
  const holding = await mesh.pools.inventory.query<{ sku: string; reserved: string; held: string }>(
    `SELECT p.sku, p.reserved::text, coalesce(sum(i.quantity) FILTER (WHERE r.status = 'reserved'), 0)::text AS held
       FROM products p
       LEFT JOIN reservation_items i ON i.sku = p.sku
       LEFT JOIN reservations r ON r.order_id = i.order_id
      WHERE p.sku = ANY($1)
      GROUP BY p.sku, p.reserved`,
    [[...initialStock.keys()]],
  );
  for (const row of holding.rows) {
    if (row.reserved !== row.held) stockProblems.push(`${row.sku}: reserved ${row.reserved} ≠ held ${row.held}`);
  }
  const statusOf = new Map(orders.rows.map((row) => [row.order_id, row.status]));
  const held = await mesh.pools.inventory.query<{ order_id: string }>(
    "SELECT order_id FROM reservations WHERE status = 'reserved'",
  );
  for (const { order_id } of held.rows) {
    const status = statusOf.get(order_id);
    if (status !== undefined && finalStatuses.includes(status))
      stockProblems.push(`${order_id}: ${status}, and its units are still reserved`);
  }
  return {
    unfinished: orders.rows
      .filter((row) => !finalStatuses.includes(row.status))
      .map((row) => `${row.order_id}:${row.status}`),
    moneyProblems,
    capturedMinor,
    confirmedMinor,
    stockProblems,
  };
}

/** The invariants of a mesh at rest, and what it parked on the way. */
export interface SettledReport extends InvariantReport {
  /** The dead letters in the mesh's DEADLETTER stream: consumer, event type and reason. */
  readonly deadLetters: string[];
}

/**
 * {@link checkInvariants} once the mesh is at rest: every order final, every outbox
 * row published and every event applied by every consumer. Inventory sells or
 * releases an order's units after the order reaches its final status, so the stock
 * is only settled then. A dead-lettered event is neither pending nor unacknowledged:
 * the report lists them too.
 */
export async function checkSettledInvariants(
  mesh: Mesh,
  initialStock: ReadonlyMap<string, bigint>,
): Promise<SettledReport> {
  const nc = await mesh.nats.connect();
  try {
    const jsm = await jetstreamManager(nc);
    const atRest = async () => {
      const unfinished = await mesh.pools.order.query("SELECT 1 FROM orders WHERE status <> ALL ($1) LIMIT 1", [
        finalStatuses,
      ]);
      if (unfinished.rowCount !== 0) return false;
      for (const pool of Object.values(mesh.pools)) {
        if ((await pool.query("SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT 1")).rowCount !== 0) return false;
      }
      for await (const stream of jsm.streams.list()) {
        if (!stream.config.name.startsWith(`${mesh.nats.prefix}_`)) continue;
        for await (const consumer of jsm.consumers.list(stream.config.name)) {
          if (consumer.num_pending + consumer.num_ack_pending > 0) return false;
        }
      }
      return true;
    };
    await waitFor(atRest, { description: "every order final and every event applied", timeoutMs: 60_000 });
    const parked = await listDeadLetters(jsm, createEventCatalog(allEvents, mesh.nats.prefix));
    const deadLetters = parked.map((letter) => `${letter.consumer}: ${letter.eventType} ${letter.reason}`);
    return { ...(await checkInvariants(mesh, initialStock)), deadLetters };
  } finally {
    await nc.close();
  }
}
