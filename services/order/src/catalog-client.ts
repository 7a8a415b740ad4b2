import { Code, ConnectError } from "@connectrpc/connect";
import { CatalogService } from "@shopmesh/gen/shopmesh/inventory/v1/catalog_service_pb.js";
import { coalesce, createGrpcClient, within } from "@shopmesh/server";
import { OrderError } from "./errors.js";

/** What the catalog says about a product when an order is priced. */
export interface CatalogEntry {
  readonly name: string;
  readonly priceMinor: bigint;
  readonly currency: string;
  readonly available: bigint;
}

/** How long a lookup may take, and whose bound that is. */
export interface LookupTime {
  readonly timeoutMs: number;
  /**
   * The time is what is left of the caller's own deadline, shorter than the catalog's
   * bound: running out of it is the caller's DEADLINE_EXCEEDED, not inventory being
   * unavailable — never a reason to answer from the recent prices.
   */
  readonly callersDeadline: boolean;
}

/** The catalog as the order service needs it: authoritative prices and availability. */
export interface CatalogPort {
  /** Entries of the SKUs found (missing SKUs are absent from the map). */
  lookup(skus: readonly string[], time: LookupTime): Promise<Map<string, CatalogEntry>>;
  close(): void;
}

const cacheLimit = 50_000;

/** The most SKUs one BatchGetProducts call may name (its contract). */
const skusPerCall = 100;

/** One order's lookup, waiting to share a call. */
interface Lookup {
  readonly skus: readonly string[];
  readonly deadline: number;
}

/**
 * Consecutive lookups in groups that each name at most `limit` distinct SKUs — so that
 * a burst of orders is priced by as many calls as the catalog's contract needs. A
 * lookup is never split (an order names at most 50 SKUs).
 */
export function inGroupsOfSkus<L extends Pick<Lookup, "skus">>(lookups: readonly L[], limit: number): L[][] {
  const groups: L[][] = [];
  let group: L[] = [];
  let named = new Set<string>();
  for (const lookup of lookups) {
    const added = new Set(lookup.skus.filter((sku) => !named.has(sku)));
    if (group.length > 0 && named.size + added.size > limit) {
      groups.push(group);
      group = [];
      named = new Set();
    }
    group.push(lookup);
    for (const sku of lookup.skus) named.add(sku);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * The catalog over gRPC (inventory's CatalogService). A call shared by several
 * lookups has the deadline of the most patient of them, and each lookup gives up at
 * its own deadline: a caller in a hurry fails alone, never the others in its call.
 * Prices seen in the last `staleTtlMs` are kept: when inventory is unavailable, an
 * order whose SKUs were all priced recently is still accepted at those prices
 * (stale-if-error), and its reservation — the authority on stock — happens when
 * inventory is back. Otherwise UNAVAILABLE. `staleTtlMs` 0 turns this off. A caller
 * whose own deadline runs out first gets DEADLINE_EXCEEDED, never the recent prices:
 * a client would otherwise choose, by its deadline, to buy at a price since raised.
 */
export function createCatalogClient(target: string, staleTtlMs: number): CatalogPort {
  const client = createGrpcClient(CatalogService, { target });
  const recent = new Map<string, { entry: CatalogEntry; seenAt: number }>();
  const remember = (sku: string, entry: CatalogEntry) => {
    if (recent.size >= cacheLimit) recent.delete(recent.keys().next().value as string);
    recent.delete(sku);
    recent.set(sku, { entry, seenAt: Date.now() });
  };
  const fromRecent = (skus: readonly string[]) => {
    const oldest = Date.now() - staleTtlMs;
    const entries = new Map<string, CatalogEntry>();
    for (const sku of skus) {
      const seen = recent.get(sku);
      if (!seen || seen.seenAt < oldest) return undefined;
      entries.set(sku, seen.entry);
    }
    return entries;
  };
  const fetchGroup = async (lookups: readonly Lookup[]) => {
    const skus = [...new Set(lookups.flatMap((lookup) => lookup.skus))];
    const timeoutMs = Math.max(1, Math.max(...lookups.map((lookup) => lookup.deadline)) - Date.now());
    const { products } = await client.batchGetProducts({ skus }, { timeoutMs });
    const entries = new Map<string, CatalogEntry>();
    for (const product of products) {
      const entry = {
        name: product.name,
        priceMinor: product.price?.amountMinor ?? 0n,
        currency: product.price?.currencyCode ?? "",
        available: product.available,
      };
      entries.set(product.sku, entry);
      if (staleTtlMs > 0) remember(product.sku, entry);
    }
    return entries;
  };
  // Lookups that come while a call is in flight share the next call: the prices are
  // still inventory's at the time of the order, at one RPC per handful of orders — or
  // a few calls at once when they name more products than one call may, each call's
  // failure its own lookups' alone.
  const fetchPrices = coalesce(async (lookups: readonly Lookup[]) => {
    const groups = inGroupsOfSkus(lookups, skusPerCall);
    const answers = await Promise.allSettled(groups.map(fetchGroup));
    return groups.flatMap((group, index) => group.map(() => answers[index] as (typeof answers)[number]));
  });
  return {
    async lookup(skus, { timeoutMs, callersDeadline }) {
      const deadline = Date.now() + timeoutMs;
      try {
        const answer = await untilDeadline(fetchPrices({ skus, deadline }), deadline);
        if (answer.status === "rejected") throw answer.reason;
        const shared = answer.value;
        const entries = new Map<string, CatalogEntry>();
        for (const sku of skus) {
          const entry = shared.get(sku);
          if (entry) entries.set(sku, entry);
        }
        return entries;
      } catch (error) {
        const code = ConnectError.from(error).code;
        if (code === Code.DeadlineExceeded && callersDeadline) {
          throw new ConnectError("the call's deadline passed while its items were priced", Code.DeadlineExceeded);
        }
        if (code !== Code.Unavailable && code !== Code.DeadlineExceeded) throw error;
        const stale = staleTtlMs > 0 ? fromRecent(skus) : undefined;
        if (stale) return stale;
        throw new OrderError("ORDER_INVENTORY_UNAVAILABLE", "the catalog is unavailable; try again shortly");
      }
    },
    close: () => client.close(),
  };
}

/** The promise's outcome, or DEADLINE_EXCEEDED at `deadline` (ms since the epoch) if it has none by then. */
function untilDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  return within(
    promise,
    deadline - Date.now(),
    () => new ConnectError("the catalog did not answer in time", Code.DeadlineExceeded),
  );
}
