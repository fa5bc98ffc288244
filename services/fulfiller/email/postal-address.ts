import addressFormatter from "@fragaria/address-formatter";

import type { Address } from "../session.js";

/** Stripe's address shape (line1, line2, city, postal_code, state, country). */
export type PostalAddress = Address;

const countryNames = new Intl.DisplayNames(["en"], { type: "region", fallback: "code" });

/** "GB" → "United Kingdom"; an unknown or malformed code is shown as it is. */
export function countryName(code: string | null | undefined): string | null {
  if (!code) return null;
  try {
    return countryNames.of(code.toUpperCase()) ?? code;
  } catch {
    return code;
  }
}

/**
 * The address as lines in its country's postal layout (OpenCage's per-country
 * templates, through @fragaria/address-formatter), the country by name last.
 * Stripe's line2 (flat, floor, building) follows line1.
 */
export function formatPostalAddress(address: PostalAddress): string[] {
  const countryCode = address.country?.toUpperCase() || undefined;
  const lines = addressFormatter.format(
    {
      ...(address.line1 ? { road: address.line1 } : {}),
      ...(address.city ? { city: address.city } : {}),
      ...(address.postal_code ? { postcode: address.postal_code } : {}),
      ...(address.state ? { state: address.state } : {}),
      ...(countryCode ? { countryCode } : {}),
    },
    { output: "array", appendCountry: false, ...(countryCode ? { countryCode } : {}) },
  );
  if (address.line2) {
    const at = address.line1 ? lines.findIndex((l) => l.includes(address.line1!)) : -1;
    lines.splice(at + 1, 0, address.line2);
  }
  const country = countryName(countryCode);
  // The country goes last, by name, once: the formatter may put its code on a line of its own.
  const isCountry = (l: string) => l.trim() === countryCode || l.trim() === country;
  return [...lines.filter((l) => l.trim() !== "" && !isCountry(l)), ...(country ? [country] : [])];
}

/** Whether a carrier could deliver to it: it needs at least a street line. */
export function hasStreetLine(address: PostalAddress): boolean {
  return !!(address.line1?.trim() || address.line2?.trim());
}
