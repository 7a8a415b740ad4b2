import type { OutboxRow } from "@shopmesh/events";
import { awaitAtCommit } from "@shopmesh/pg";
import type pg from "pg";
import {
  claimReservations,
  dropUnannouncedReservations,
  findReservations,
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
 * with STOCK.ORDER_MISMATCH); an order released before (a tombstone) answers
 * `released` and reserves nothing. Answers each request's outcome, in order.
 *
 * An OrderPlaced that finds a reservation an operator's RPC made (ReserveStock, or
 * ReleaseStock's tombstone) announces its outcome, once: the order is waiting for it.
 * One made for other items than the order's is replaced (see replacedByOrder): its
 * units go back on sale and the order's items are reserved afresh, with two
 * statements more.
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
  const { claimed, available } = await claimReservations(
    tx,
    [...firsts.values()].map((request) => ({ ...request, announced: request.charge !== undefined })),
  );
  const repeated = [...firsts.keys()].filter((orderId) => !claimed.has(orderId));
  const known = new Map<string, KnownReservation>(
    repeated.length > 0 ? await findReservations(tx, repeated) : undefined,
  );
  const replaced = new Set<string>();
  for (const [orderId, earlier] of known) {
    const first = firsts.get(orderId);
    if (first?.charge !== undefined && replacedByOrder(earlier, first.requestDigest)) replaced.add(orderId);
  }
  const held: { orderId: string; items: readonly StockItem[] }[] = [];
  const refused: { orderId: string; shortages: readonly Shortage[] }[] = [];
  const announced: OutboxRow[] = [];
  const announcedAtLast: string[] = [];
  const answers = asked.map((request): ReservationAnswer | undefined => {
    const { orderId, items, requestDigest, charge } = request;
    if (replaced.has(orderId)) return undefined;
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
  const afresh = replaced.size > 0 ? await reserveAfresh(tx, events, requests, replaced) : [];
  return answers.map((answer) => answer ?? afresh.shift() ?? missing());
}

/** Reserves the orders whose operator-made reservations they replace (see replacedByOrder). */
async function reserveAfresh(
  tx: pg.ClientBase,
  events: StockEvents,
  requests: readonly ReservationRequest[],
  replaced: ReadonlySet<string>,
): Promise<ReservationAnswer[]> {
  if ((await dropUnannouncedReservations(tx, [...replaced])) !== replaced.size) {
    throw new Error(`the reservations of orders ${[...replaced].join(", ")} changed under the stock writer`);
  }
  return reserveStocks(
    tx,
    events,
    requests.filter((request) => replaced.has(request.orderId)),
  );
}

function missing(): never {
  throw new Error("a replaced reservation got no answer");
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
