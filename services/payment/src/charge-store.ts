import type { Outbox } from "@shopmesh/events";
import { coalesce, inWaves } from "@shopmesh/server";
import type pg from "pg";
import type { ChargeState, Payment } from "./payment.js";
import { beginCharges, type OutcomeRecord, recordOutcomes } from "./payment-store.js";

/**
 * Where charges start and end. Charges in flight together (the StockReserved consumer
 * handles many at once) share these statements: each charge still waits for its own
 * state and its own record, but under load the two statements per charge become two
 * per handful of charges.
 */
export interface ChargeStore {
  /** The order's payment, recording the provider call about to be made when there is none. */
  begin(orderId: string): Promise<ChargeState>;
  /** Records an outcome with its event and inbox row; undefined when the order already had a payment or the event was applied. */
  record(record: OutcomeRecord): Promise<Payment | undefined>;
}

/** A charge store on a pool, one statement in flight per kind at a time. */
export function createChargeStore(pool: pg.Pool, outbox: Outbox): ChargeStore {
  return {
    begin: coalesce((orderIds: readonly string[]) =>
      inWaves(
        orderIds,
        (orderId) => orderId,
        (wave) => beginCharges(pool, wave),
      ),
    ),
    record: coalesce((records: readonly OutcomeRecord[]) =>
      inWaves(
        records,
        (record) => record.outcome.orderId,
        (wave) => recordOutcomes(pool, outbox, wave),
      ),
    ),
  };
}
