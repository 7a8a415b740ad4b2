/** An amount as the contracts carry it (`shopmesh.common.v1.Money`), or as the cart stores it. */
export interface Amount {
  readonly amountMinor: bigint;
  readonly currencyCode: string;
}

/** Formats minor units in their currency, e.g. 1250n USD → "$12.50". */
export function formatMoney({ amountMinor, currencyCode }: Amount, locale?: string): string {
  const currency = currencyCode || "USD";
  const format = new Intl.NumberFormat(locale, { style: "currency", currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  const negative = amountMinor < 0n;
  const abs = negative ? -amountMinor : amountMinor;
  const scale = 10n ** BigInt(digits);
  const whole = abs / scale;
  const fraction = (abs % scale).toString().padStart(digits, "0");
  const formatted = format.format(Number(`${whole}${digits > 0 ? `.${fraction}` : ""}`));
  return negative ? `-${formatted}` : formatted;
}
