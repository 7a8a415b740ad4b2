import type { Outbox } from "@shopmesh/events";
import type pg from "pg";
import type { ChargeStore } from "./charge-store.js";
import type { PaymentProvider } from "./payment-provider.js";

/**
 * The ports every payment use case works with. Use cases record each change with its
 * event (and, for a consumer, its inbox row) in one autocommit statement of the
 * store, so they never hold a transaction, least of all across a provider call.
 */
export interface PaymentDeps {
  readonly pool: pg.Pool;
  /** Where charges start and end, shared by the charges in flight together. */
  readonly charges: ChargeStore;
  readonly outbox: Outbox;
  readonly provider: PaymentProvider;
}
