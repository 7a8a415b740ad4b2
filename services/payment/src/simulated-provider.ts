import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type ChargeInstruction,
  type ChargeOutcome,
  IdempotencyConflictError,
  type PaymentProvider,
  type RefundInstruction,
  TransientProviderError,
} from "./payment-provider.js";

/** Options of the simulator. */
export interface SimulatedProviderOptions {
  /** Added to every call, like a network round trip (default 0). */
  readonly latencyMs?: number;
}

/** What the simulator did for one charge idempotency key. */
export interface SimulatedCharge {
  /** Calls made with the key, failed ones and replays included. */
  readonly calls: number;
  /** Calls that failed transiently. */
  readonly transientFailures: number;
  /** The first (and only) outcome, once there is one. */
  readonly outcome?: ChargeOutcome;
  readonly amount: bigint;
  readonly currency: string;
}

/** What the simulator did for one refund idempotency key. */
export interface SimulatedRefund {
  readonly calls: number;
  readonly reference: string;
  readonly chargeReference: string;
  readonly amount: bigint;
}

/** Totals over every key, for tests. */
export interface SimulatorCounts {
  readonly chargeCalls: number;
  readonly captures: number;
  readonly declines: number;
  readonly transientFailures: number;
  readonly refundCalls: number;
  readonly refunds: number;
  readonly cancelCalls: number;
}

/** The simulator: a {@link PaymentProvider} with a ledger tests can inspect. */
export interface SimulatedProvider extends PaymentProvider {
  chargeOf(idempotencyKey: string): SimulatedCharge | undefined;
  refundOf(idempotencyKey: string): SimulatedRefund | undefined;
  counts(): SimulatorCounts;
}

type Behaviour =
  | { readonly kind: "capture" }
  | { readonly kind: "decline"; readonly reason: string }
  | { readonly kind: "transient"; readonly failures: number };

/** Extra latency of tokens ending in `_slow`. */
export const slowTokenLatencyMs = 200;

const fixedTokens: Record<string, Behaviour> = {
  tok_visa: { kind: "capture" },
  tok_declined: { kind: "decline", reason: "card declined" },
  tok_insufficient_funds: { kind: "decline", reason: "insufficient funds" },
};

/**
 * A deterministic, in-memory payment provider (no network) driven by test tokens
 * (documented in the service README): `tok_visa` captures, `tok_declined` and
 * `tok_insufficient_funds` decline, `tok_transient_<n>` fails transiently on the
 * first n calls per idempotency key and then captures, a `_slow` suffix adds 200 ms;
 * any other token is declined as "unknown test token". Like a real provider it keeps
 * the first outcome per idempotency key and replays it, so a key never captures
 * twice, and refuses the key with another amount or currency
 * ({@link IdempotencyConflictError}). The outcome is decided before any latency, so concurrent calls with one key
 * cannot both capture. `cancelCharge` answers a key's outcome, or closes a key that
 * charged nothing: later charges with it are declined ("charge cancelled"). The
 * ledger lives in the process: each replica has its own.
 *
 * ```ts
 * const provider = createSimulatedProvider({ latencyMs: 20 });
 * await provider.charge({ idempotencyKey: orderId, amount: 1999n, currency: "USD", token: "tok_visa" });
 * provider.chargeOf(orderId); // { calls: 1, transientFailures: 0, outcome: { outcome: "captured", … } }
 * ```
 */
export function createSimulatedProvider(options: SimulatedProviderOptions = {}): SimulatedProvider {
  const latencyMs = options.latencyMs ?? 0;
  const charges = new Map<string, SimulatedCharge>();
  const refunds = new Map<string, SimulatedRefund>();
  const captured = new Map<string, { amount: bigint; refundKey?: string }>();
  const cancelledKeys = new Set<string>();
  const counts = {
    chargeCalls: 0,
    captures: 0,
    declines: 0,
    transientFailures: 0,
    refundCalls: 0,
    refunds: 0,
    cancelCalls: 0,
  };
  const delay = (extraMs: number) => (latencyMs + extraMs > 0 ? sleep(latencyMs + extraMs) : Promise.resolve());

  const decide = (instruction: ChargeInstruction, behaviour: Behaviour): SimulatedCharge => {
    const previous = charges.get(instruction.idempotencyKey);
    if (previous && (previous.amount !== instruction.amount || previous.currency !== instruction.currency)) {
      counts.chargeCalls++;
      throw new IdempotencyConflictError(
        `key ${instruction.idempotencyKey} was used for ${previous.amount} ${previous.currency}`,
        previous,
      );
    }
    const entry = {
      calls: (previous?.calls ?? 0) + 1,
      transientFailures: previous?.transientFailures ?? 0,
      outcome: previous?.outcome,
      amount: previous?.amount ?? instruction.amount,
      currency: previous?.currency ?? instruction.currency,
    };
    counts.chargeCalls++;
    if (entry.outcome === undefined) {
      if (cancelledKeys.has(instruction.idempotencyKey)) {
        entry.outcome = { outcome: "declined", reason: "charge cancelled" };
        counts.declines++;
      } else if (behaviour.kind === "transient" && entry.transientFailures < behaviour.failures) {
        entry.transientFailures++;
        counts.transientFailures++;
      } else if (behaviour.kind === "decline") {
        entry.outcome = { outcome: "declined", reason: behaviour.reason };
        counts.declines++;
      } else {
        const reference = `sim_ch_${digest(instruction.idempotencyKey)}`;
        entry.outcome = { outcome: "captured", reference };
        captured.set(reference, { amount: instruction.amount });
        counts.captures++;
      }
    }
    charges.set(instruction.idempotencyKey, entry);
    return entry;
  };

  const firstRefund = (instruction: RefundInstruction): SimulatedRefund => {
    const charge = captured.get(instruction.reference);
    if (charge === undefined) throw new Error(`no captured charge ${instruction.reference}`);
    if (charge.refundKey !== undefined) throw new Error(`charge ${instruction.reference} is already refunded`);
    if (instruction.amount <= 0n || instruction.amount > charge.amount) {
      throw new Error(`cannot refund ${instruction.amount} of a charge of ${charge.amount}`);
    }
    charge.refundKey = instruction.idempotencyKey;
    counts.refunds++;
    return {
      calls: 1,
      reference: `sim_re_${digest(instruction.idempotencyKey)}`,
      chargeReference: instruction.reference,
      amount: instruction.amount,
    };
  };

  return {
    async charge(instruction) {
      if (instruction.amount <= 0n) throw new Error("the simulator charges only positive amounts");
      const { behaviour, slow } = parseToken(instruction.token);
      const entry = decide(instruction, behaviour);
      await delay(slow ? slowTokenLatencyMs : 0);
      if (entry.outcome === undefined) {
        // Names the charge by its key, never by its payment token: the message reaches
        // spans, logs and the dead-letter reason.
        throw new TransientProviderError(
          `simulated transient failure ${entry.transientFailures} of charge ${instruction.idempotencyKey}`,
        );
      }
      return entry.outcome;
    },
    async refund(instruction) {
      counts.refundCalls++;
      const previous = refunds.get(instruction.idempotencyKey);
      const entry = previous ? { ...previous, calls: previous.calls + 1 } : firstRefund(instruction);
      refunds.set(instruction.idempotencyKey, entry);
      await delay(0);
      return { reference: entry.reference };
    },
    async cancelCharge(idempotencyKey) {
      counts.cancelCalls++;
      const charge = charges.get(idempotencyKey);
      if (charge?.outcome === undefined) cancelledKeys.add(idempotencyKey);
      await delay(0);
      return charge?.outcome && { outcome: charge.outcome, amount: charge.amount, currency: charge.currency };
    },
    chargeOf: (key) => charges.get(key),
    refundOf: (key) => refunds.get(key),
    counts: () => ({ ...counts }),
  };
}

function parseToken(token: string): { behaviour: Behaviour; slow: boolean } {
  const slow = token.endsWith("_slow");
  const base = slow ? token.slice(0, -"_slow".length) : token;
  const transient = /^tok_transient_([1-9])$/.exec(base);
  const behaviour = transient
    ? { kind: "transient" as const, failures: Number(transient[1]) }
    : (fixedTokens[base] ?? { kind: "decline" as const, reason: "unknown test token" });
  return { behaviour, slow };
}

function digest(key: string): string {
  return createHash("sha256").update(key).digest("hex").slice(0, 24);
}
