import { expect } from "chai";
import {
  formatAmount,
  minorUnitDigits,
  THREE_DECIMAL_CURRENCIES,
  ZERO_DECIMAL_CURRENCIES,
} from "../../../../services/fulfiller/email/currency.js";

/** Intl separates a currency code from the number with a no-break space. */
const fmt = (minor: number | null | undefined, currency: string | null) =>
  formatAmount(minor, currency).replace(/\u00a0/g, " ");

describe("unit: Stripe's minor units, currency by currency", () => {
  // Stripe's lists (docs.stripe.com/currencies), written out here on purpose: a code
  // dropped from the code's list would format 100x off.
  const zero = [
    "bif",
    "clp",
    "djf",
    "gnf",
    "jpy",
    "kmf",
    "krw",
    "mga",
    "pyg",
    "rwf",
    "ugx",
    "vnd",
    "vuv",
    "xaf",
    "xof",
    "xpf",
  ];
  const three = ["bhd", "jod", "kwd", "omr", "tnd"];

  it("when a zero-decimal currency, then amounts are whole units", () => {
    expect([...ZERO_DECIMAL_CURRENCIES].sort()).to.deep.equal(zero);
    for (const code of zero) {
      expect(minorUnitDigits(code), code).to.equal(0);
      expect(minorUnitDigits(code.toUpperCase()), code).to.equal(0);
    }
  });

  it("when a three-decimal currency, then amounts have three decimals", () => {
    expect([...THREE_DECIMAL_CURRENCIES].sort()).to.deep.equal(three);
    for (const code of three) expect(minorUnitDigits(code), code).to.equal(3);
    expect(fmt(1234, "kwd")).to.equal("KWD 1.234");
  });

  it("when Intl disagrees with Stripe (ISK, HUF), then Stripe's two decimals win", () => {
    expect(minorUnitDigits("isk")).to.equal(2);
    expect(fmt(12345, "isk")).to.equal("ISK 123.45");
    expect(fmt(12345, "HUF")).to.equal("HUF 123.45");
  });

  it("when the amount or currency is missing, then n/a; zero is an amount", () => {
    expect(fmt(null, "usd")).to.equal("n/a");
    expect(fmt(undefined, "usd")).to.equal("n/a");
    expect(fmt(100, null)).to.equal("n/a");
    expect(fmt(100, "")).to.equal("n/a");
    expect(fmt(0, "usd")).to.equal("US$0.00");
  });

  it("when Intl does not know the code, then the number is still right, with the code upper-cased", () => {
    expect(fmt(150, "xts1")).to.equal("1.50 XTS1");
  });
});

describe("unit: currency formatting with Stripe's minor units", () => {
  it("when two-, zero- and three-decimal currencies, then the digits follow Stripe's lists", () => {
    expect(formatAmount(12900, "usd")).to.equal("US$129.00");
    expect(formatAmount(1500, "jpy")).to.equal("JP¥1,500");
    expect(formatAmount(1500, "krw")).to.equal("₩1,500");
    expect(formatAmount(12345, "kwd")).to.match(/^KWD\s12\.345$/);
    expect(formatAmount(12345, "bhd")).to.match(/12\.345/);
    // Intl treats ISK as zero-decimal; Stripe's API amounts are two-decimal.
    expect(formatAmount(100000, "isk")).to.match(/1,000\.00/);
    expect(minorUnitDigits("HUF")).to.equal(2);
    expect(formatAmount(null, "usd")).to.equal("n/a");
  });
});
