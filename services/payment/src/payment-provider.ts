/** What to charge. */
export interface ChargeInstruction {
  /**
   * The provider replays the first outcome for a key it has seen and never captures
   * twice; shopmesh uses the order id, so a crash or retry cannot double charge.
   */
  readonly idempotencyKey: string;
  /** In minor units of the currency, greater than zero. */
  readonly amount: bigint;
  /** ISO 4217 code, such as "USD". */
  readonly currency: string;
  /** The provider's token for the payment method. */
  readonly token: string;
}

/** How a charge ended. A decline is an answer, not an error. */
export type ChargeOutcome =
  | { readonly outcome: "captured"; readonly reference: string }
  | { readonly outcome: "declined"; readonly reason: string };

/** What to give back. */
export interface RefundInstruction {
  /** As for charges: a repeated refund with the same key refunds once. */
  readonly idempotencyKey: string;
  /** The order refunded, for the records (a provider's metadata, the trace's tag). */
  readonly orderId: string;
  /** The reference of the captured charge. */
  readonly reference: string;
  /** In minor units; shopmesh always refunds in full. */
  readonly amount: bigint;
}

/**
 * The payment-provider port. Adapters honour idempotency keys as real providers do,
 * and throw {@link TransientProviderError} for failures worth retrying (timeouts,
 * 5xx, rate limits); any other error is a bug or a misconfiguration.
 *
 * ```ts
 * const result = await provider.charge({ idempotencyKey: orderId, amount: 1999n, currency: "USD", token });
 * if (result.outcome === "captured") record(result.reference);
 * ```
 */
export interface PaymentProvider {
  charge(instruction: ChargeInstruction): Promise<ChargeOutcome>;
  refund(instruction: RefundInstruction): Promise<{ readonly reference: string }>;
  /**
   * Settles a charge whose fate is unknown (its call failed or went unrecorded) without
   * making one: a cancel by the merchant's reference, as providers offer for calls that
   * timed out. Answers the charge the key made, if one was made (a capture is then
   * refunded by its reference, for what it captured); if none was, closes the key, so
   * that a call with it still on its way is declined, never captured. Replaying the
   * charge instead would capture anew when the first call never arrived.
   */
  cancelCharge(idempotencyKey: string): Promise<KeyedCharge | undefined>;
}

/** The charge an idempotency key made, as {@link PaymentProvider.cancelCharge} answers it. */
export interface KeyedCharge {
  readonly outcome: ChargeOutcome;
  /** What the charge was for, in minor units and ISO 4217 currency. */
  readonly amount: bigint;
  readonly currency: string;
}

/**
 * A provider failure that may succeed when retried with the same idempotency key.
 * Whether the provider acted is unknown, which is why retries must reuse the key.
 */
export class TransientProviderError extends Error {
  override name = "TransientProviderError";
}

/**
 * The provider refused a charge whose idempotency key it had seen with another amount
 * or currency, and charged nothing — as real providers refuse a key reused with
 * other parameters. Not worth retrying.
 */
export class IdempotencyConflictError extends Error {
  override name = "IdempotencyConflictError";
  constructor(
    message: string,
    /** What the key was first used for. */
    readonly first: { readonly amount: bigint; readonly currency: string },
  ) {
    super(message);
  }
}
