/**
 * Stripe amounts are integers in the currency's minor unit. Which currencies have
 * no minor unit, or three decimals, is Stripe's own list
 * (https://docs.stripe.com/currencies#zero-decimal, #three-decimal), which differs
 * from ISO 4217 and Intl in places: ISK, HUF and TWD have no minor unit for Intl but
 * are two-decimal in Stripe's API amounts, so Intl's defaults alone would be wrong.
 */
export const ZERO_DECIMAL_CURRENCIES: ReadonlySet<string> = new Set([
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
]);

export const THREE_DECIMAL_CURRENCIES: ReadonlySet<string> = new Set(["bhd", "jod", "kwd", "omr", "tnd"]);

export function minorUnitDigits(currency: string): number {
  const code = currency.toLowerCase();
  if (ZERO_DECIMAL_CURRENCIES.has(code)) return 0;
  if (THREE_DECIMAL_CURRENCIES.has(code)) return 3;
  return 2;
}

/** "€1,234.50"-style text for a Stripe amount, with the digits Stripe uses for that currency. */
export function formatAmount(minor: number | null | undefined, currency: string | null | undefined): string {
  if (minor === null || minor === undefined || !currency) return "n/a";
  const digits = minorUnitDigits(currency);
  const major = minor / 10 ** digits;
  try {
    return new Intl.NumberFormat("en-GB", {
      style: "currency",
      currency: currency.toUpperCase(),
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(major);
  } catch {
    // An unknown code to Intl: still show a correct number.
    return `${major.toFixed(digits)} ${currency.toUpperCase()}`;
  }
}
