import { describe, expect, it } from "vitest";
import { formatMoney } from "./money.js";

describe("formatMoney", () => {
  it("formats minor units with the currency's own decimals", () => {
    expect(formatMoney({ amountMinor: 1250n, currencyCode: "USD" }, "en-US")).toBe("$12.50");
    expect(formatMoney({ amountMinor: 5n, currencyCode: "USD" }, "en-US")).toBe("$0.05");
    expect(formatMoney({ amountMinor: 1250n, currencyCode: "JPY" }, "en-US")).toBe("¥1,250");
    expect(formatMoney({ amountMinor: 123456789n, currencyCode: "EUR" }, "de-DE")).toBe("1.234.567,89\u00a0€");
  });
});
