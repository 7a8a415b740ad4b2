import { describe, expect, it } from "vitest";
import { formatMoney } from "./money.js";

describe("formatMoney", () => {
  it("formats minor units with the currency's own decimals", () => {
    expect(formatMoney({ amountMinor: 1250n, currencyCode: "USD" }, "en-US")).toBe("$12.50");
    expect(formatMoney({ amountMinor: 5n, currencyCode: "USD" }, "en-US")).toBe("$0.05");
    expect(formatMoney({ amountMinor: 1250n, currencyCode: "JPY" }, "en-US")).toBe("¥1,250");
    expect(formatMoney({ amountMinor: 123456789n, currencyCode: "EUR" }, "de-DE")).toBe("1.234.567,89\u00a0€");
  });

  it("scales by ISO 4217's minor units (the contracts'), not Intl's digits where they differ", () => {
    // Intl shows IDR and HUF without decimals, IQD too; ISO 4217 gives them 2, 2 and 3.
    expect(formatMoney({ amountMinor: 150_000n, currencyCode: "IDR" }, "en-US")).toMatch(/1,500\.00$/);
    expect(formatMoney({ amountMinor: 150_000n, currencyCode: "HUF" }, "en-US")).toMatch(/1,500\.00$/);
    expect(formatMoney({ amountMinor: 1_500n, currencyCode: "IQD" }, "en-US")).toMatch(/1\.500$/);
    expect(formatMoney({ amountMinor: 1_500n, currencyCode: "KWD" }, "en-US")).toMatch(/1\.500$/);
  });
});
