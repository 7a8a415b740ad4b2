/** An amount in integer minor units of a currency (cents for USD). */
export interface Money {
  readonly amountMinor: bigint;
  /** ISO 4217, such as "USD". */
  readonly currency: string;
}

/** A catalog product with what can be ordered of it now. */
export interface Product {
  readonly sku: string;
  readonly name: string;
  readonly description: string;
  readonly category: string;
  readonly price: Money;
  /** Units that can be ordered now (on hand minus reserved). */
  readonly available: bigint;
  readonly updatedAt: Date;
}

/** A product to put in the catalog, with its initial available stock. */
export interface NewProduct {
  readonly sku: string;
  readonly name: string;
  readonly description: string;
  readonly category: string;
  readonly price: Money;
  readonly available: bigint;
}
