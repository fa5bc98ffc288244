/** Stripe-shaped ids and the local catalogue's product ids, shared by every builder. */
import { randomBytes } from "node:crypto";

/** The shipped product (the scale) in the local stack. */
export const SCALE_PRODUCT_ID = "prod_LocalScale0001";
export const ACCESSORY_PRODUCT_ID = "prod_LocalStrap0002";

export type Json = Record<string, unknown>;

export function clone<T>(value: T): T {
  return structuredClone(value);
}

export function randomId(prefix: string, length = 24): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = randomBytes(length);
  let out = "";
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return `${prefix}_${out}`;
}

/** Unix seconds now, as Stripe stamps `created`. */
export const now = () => Math.floor(Date.now() / 1000);
