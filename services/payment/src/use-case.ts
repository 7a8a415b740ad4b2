import type { Outbox } from "@shopmesh/events";
import { withTx } from "@shopmesh/pg";
import type pg from "pg";
import type { PaymentProvider } from "./payment-provider.js";

/** The ports every payment use case works with. */
export interface PaymentDeps {
  readonly pool: pg.Pool;
  readonly outbox: Outbox;
  readonly provider: PaymentProvider;
}

/**
 * Runs the recording step of a use case in a transaction. Consumers pass their
 * inbox transaction (which answers undefined for an event already applied); RPCs use
 * {@link ownTransaction}.
 */
export type Transaction = <T>(work: (tx: pg.PoolClient) => Promise<T>) => Promise<T | undefined>;

/** A plain transaction on the pool, retried on serialization failures and deadlocks. */
export function ownTransaction(pool: pg.Pool): Transaction {
  return (work) => withTx(pool, work);
}
