/** An amount as the contracts carry it (`shopmesh.common.v1.Money`), or as the cart stores it. */
export interface Amount {
  readonly amountMinor: bigint;
  readonly currencyCode: string;
}

/**
 * ISO 4217's minor units of the currencies that have other than two, the scale of
 * `amountMinor` in the contracts. Intl's own digits come from CLDR, which shows some
 * currencies with fewer (IDR, HUF, COP and IQD among them): scaled by those, an amount
 * would be shown 100 or 1,000 times too large.
 */
const minorUnitDigits: Readonly<Record<string, number>> = {
  ...Object.fromEntries(
    [
      "BIF",
      "CLP",
      "DJF",
      "GNF",
      "ISK",
      "JPY",
      "KMF",
      "KRW",
      "PYG",
      "RWF",
      "UGX",
      "UYI",
      "VND",
      "VUV",
      "XAF",
      "XOF",
      "XPF",
    ].map((code) => [code, 0]),
  ),
  ...Object.fromEntries(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"].map((code) => [code, 3])),
  CLF: 4,
  UYW: 4,
};

/** Formats minor units in their currency, e.g. 1250n USD → "$12.50". */
export function formatMoney({ amountMinor, currencyCode }: Amount, locale?: string): string {
  const currency = currencyCode || "USD";
  const digits = minorUnitDigits[currency] ?? 2;
  const format = new Intl.NumberFormat(locale, {
    style: "currency",
    currency,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  const negative = amountMinor < 0n;
  const abs = negative ? -amountMinor : amountMinor;
  const scale = 10n ** BigInt(digits);
  const whole = abs / scale;
  const fraction = (abs % scale).toString().padStart(digits, "0");
  const formatted = format.format(Number(`${whole}${digits > 0 ? `.${fraction}` : ""}`));
  return negative ? `-${formatted}` : formatted;
}
