import type { OutboxRow } from "@shopmesh/events";
import { awaitAtCommit } from "@shopmesh/pg";
import type pg from "pg";
import {
  claimReservations,
  dropUnannouncedReservations,
  findReservations,
  type ReservationClaim,
  saveReservations,
} from "./reservation-store.js";
import {
  allocate,
  type Charge,
  digestOf,
  type KnownReservation,
  normalizeItems,
  type ReservationAnswer,
  repeatAnswer,
  replacedByOrder,
  type Shortage,
  type StockItem,
} from "./stock.js";
import type { StockEvents } from "./stock-events.js";

/** What an order needs reserved. */
export interface ReservationRequest {
  readonly orderId: string;
  readonly items: readonly StockItem[];
  /**
   * What to charge, from OrderPlaced. Only then is the outcome announced
   * (StockReserved / StockRejected): payment charges on StockReserved, so a
   * reservation made without it (ReserveStock over RPC) is answered, not announced —
   * until the order's OrderPlaced comes and announces it.
   */
  readonly charge?: Charge;
}

/**
 * Reserves the items of many orders in the caller's transaction, each all or
 * nothing, with two statements whatever their number: claim the orders and lock the
 * products they ask for, decide every claimed order in turn against the locked stock
 * (so an earlier request is served first, and stock is never oversold), then write
 * the decisions and their events. Idempotent per order: the first outcome is stored
 * with the reservation and a repeat — in the same batch or later — answers it
 * without touching stock or writing events (a repeat asking for other items fails
 * with STOCK.ORDER_MISMATCH); an order released before answers `released` and
 * reserves nothing. Answers each request's outcome, in order.
 *
 * An OrderPlaced that finds a reservation an operator's RPC made (ReserveStock, or
 * ReleaseStock's tombstone) announces its outcome, once: the order is waiting for it.
 * One made for other items than the order's is replaced (see replacedByOrder): its
 * units go back on sale and the order is claimed afresh before any order of the batch
 * is decided, so the batch is still served in its order — two statements more.
 */
export async function reserveStocks(
  tx: pg.ClientBase,
  events: StockEvents,
  requests: readonly ReservationRequest[],
): Promise<ReservationAnswer[]> {
  const asked = requests.map((request) => {
    const items = normalizeItems(request.items);
    return { ...request, items, requestDigest: digestOf(items) };
  });
  const firsts = new Map<string, (typeof asked)[number]>();
  for (const request of asked) if (!firsts.has(request.orderId)) firsts.set(request.orderId, request);
  const { claimed, available } = await claimReservations(tx, [...firsts.values()].map(claimOf));
  const repeated = [...firsts.keys()].filter((orderId) => !claimed.has(orderId));
  const known = new Map<string, KnownReservation>(
    repeated.length > 0 ? await findReservations(tx, repeated) : undefined,
  );
  const replacing = [...known].flatMap(([orderId, earlier]) => {
    const first = firsts.get(orderId);
    return first?.charge !== undefined && replacedByOrder(earlier, first.requestDigest) ? [first] : [];
  });
  if (replacing.length > 0) {
    const instead = await claimInstead(tx, replacing);
    for (const orderId of instead.claimed) {
      claimed.add(orderId);
      known.delete(orderId);
    }
    // What the new claim read is current; the other SKUs locked gain what the dropped
    // reservations held (read before the drop).
    for (const [sku, units] of instead.freed) {
      const before = available.get(sku);
      if (before !== undefined) available.set(sku, before + units);
    }
    for (const [sku, units] of instead.available) available.set(sku, units);
  }
  const held: { orderId: string; items: readonly StockItem[] }[] = [];
  const refused: { orderId: string; shortages: readonly Shortage[] }[] = [];
  const announced: OutboxRow[] = [];
  const announcedAtLast: string[] = [];
  const answers = asked.map((request): ReservationAnswer => {
    const { orderId, items, requestDigest, charge } = request;
    const earlier = known.get(orderId);
    if (earlier !== undefined) {
      const answer = repeatAnswer(orderId, earlier, requestDigest);
      const owed = charge !== undefined && !earlier.announced && firsts.get(orderId) === request;
      const announcement = owed ? announcementOf(events, orderId, earlier, items, charge) : undefined;
      if (announcement) {
        announced.push(announcement);
        announcedAtLast.push(orderId);
      }
      return answer;
    }
    if (!claimed.has(orderId)) throw new Error(`reservation of order ${orderId} vanished`);
    const allocation = allocate(available, items);
    const shortages = allocation.status === "rejected" ? allocation.shortages : [];
    known.set(orderId, { status: allocation.status, announced: charge !== undefined, requestDigest, shortages });
    if (allocation.status === "reserved") held.push({ orderId, items });
    else refused.push({ orderId, shortages });
    if (charge !== undefined) {
      announced.push(
        allocation.status === "reserved"
          ? events.stockReserved(orderId, items, charge)
          : events.stockRejected(orderId, shortages),
      );
    }
    return allocation;
  });
  if (claimed.size > 0 || announced.length > 0) {
    await awaitAtCommit(tx, saveReservations(tx, events.outbox, { held, refused, events: announced, announcedAtLast }));
  }
  return answers;
}

/** A request in canonical form, with its digest. */
interface CanonicalRequest extends ReservationRequest {
  readonly requestDigest: string;
}

/** A request's claim: announced when OrderPlaced asks (it carries the charge). */
function claimOf(request: CanonicalRequest): ReservationClaim {
  return { ...request, announced: request.charge !== undefined };
}

/**
 * Drops the operator-made reservations these orders replace (see replacedByOrder) and
 * claims the orders afresh, as if they had none. Answers the orders claimed, the units
 * the drop put back on sale per SKU, and the units available of the SKUs the orders
 * ask for (read after the drop).
 */
async function claimInstead(tx: pg.ClientBase, requests: readonly CanonicalRequest[]) {
  const orderIds = requests.map((request) => request.orderId);
  const { dropped, freed } = await dropUnannouncedReservations(tx, orderIds);
  const claim = dropped.size === requests.length ? await claimReservations(tx, requests.map(claimOf)) : undefined;
  if (claim === undefined || claim.claimed.size !== requests.length) {
    throw new Error(`the reservations of orders ${orderIds.join(", ")} changed under the stock writer`);
  }
  return { ...claim, freed };
}

/** The event that announces an earlier reservation's outcome to its order. */
function announcementOf(
  events: StockEvents,
  orderId: string,
  earlier: KnownReservation,
  items: readonly StockItem[],
  charge: Charge,
): OutboxRow | undefined {
  switch (earlier.status) {
    case "reserved":
      return events.stockReserved(orderId, items, charge);
    case "rejected":
      return events.stockRejected(orderId, earlier.shortages);
    case "released":
      // Released by an operator before the order reached inventory: the order is cancelled.
      return events.stockReleased(orderId, []);
    case "sold":
      return undefined;
  }
}

/** One order's reservation: {@link reserveStocks} with a single request. */
export async function reserveStock(
  tx: pg.ClientBase,
  events: StockEvents,
  request: ReservationRequest,
): Promise<ReservationAnswer> {
  const [answer] = await reserveStocks(tx, events, [request]);
  if (answer === undefined) throw new Error(`no answer for order ${request.orderId}`);
  return answer;
}
