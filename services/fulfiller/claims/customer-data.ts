/**
 * The customer's personal details, kept apart from the order (DESIGN 5c): the order
 * document keeps ids, status, fences, amounts, line items, the Stripe customer id and a
 * keyed hash of the email address; `orders/{id}/private/customer` keeps the name, email,
 * phone, addresses and custom-field values, with an `expire_at` the Firestore TTL policy
 * deletes after ORDER_PII_RETENTION_DAYS. The domain still sees one OrderRecord: the store
 * splits it on every write and merges it on every transactional read (pure functions here).
 *
 * Redaction erases the details in place: status, fences and ids stay, so a redelivered or
 * replayed event is still a duplicate, and nothing written later brings the details back.
 */
import { createHmac } from "node:crypto";
import type { OrderDetails, OrderRecord } from "./order-state.js";

export const DEFAULT_PII_RETENTION_DAYS = 180;

/** What `orders/{id}/private/customer` holds. */
export interface CustomerData {
  customer: OrderDetails["customer"];
  shipping: { name: string | null; address: Record<string, string | null> | null } | null;
  /** Custom-field answers by field key. */
  custom_values: Record<string, string | null>;
  /** When Firestore's TTL policy deletes this document: the order's last change plus the retention. */
  expire_at: Date;
}

export interface PiiOptions {
  retentionDays: number;
  /** ORDER_EMAIL_HASH_KEY: the key of the email's look-up hash; unset, no hash is kept. */
  emailHashKey?: string | undefined;
}

/** The keyed look-up hash of an email address (lowercased, trimmed): not reversible without the key. */
export function emailHash(key: string, email: string): string {
  return createHmac("sha256", key).update(email.trim().toLowerCase()).digest("hex");
}

function blankDetails(details: OrderDetails): OrderDetails {
  return {
    ...details,
    customer: { name: null, email: null, phone: null },
    shipping: details.shipping ? { ...details.shipping, name: null, address: null } : null,
    custom_fields: details.custom_fields.map((f) => ({ ...f, value: null })),
  };
}

function holdsPii(details: OrderDetails | null | undefined): boolean {
  if (!details) return false;
  const c = details.customer;
  return !!(
    c.name ||
    c.email ||
    c.phone ||
    details.shipping?.name ||
    details.shipping?.address ||
    details.custom_fields.some((f) => f.value)
  );
}

/** Whether the order document itself holds personal details (written before this split). */
export function holdsInlinePii(order: OrderRecord): boolean {
  return holdsPii(order.details);
}

/**
 * The order document and the private document to write for `order`: the order without
 * the details (and with the email's hash), and the details with their expiry; no private
 * document for a redacted order, or one without details.
 */
export function splitOrder(
  order: OrderRecord,
  now: Date,
  options: PiiOptions,
): { order: OrderRecord; customer: CustomerData | null } {
  const details = order.details;
  if (!details || order.redacted_at) {
    return { order: details ? { ...order, details: blankDetails(details) } : order, customer: null };
  }
  if (!holdsPii(details)) return { order, customer: null };
  const email = details.customer.email;
  return {
    order: {
      ...order,
      details: blankDetails(details),
      pii: "separate",
      customer_email_hash: email && options.emailHashKey ? emailHash(options.emailHashKey, email) : null,
    },
    customer: {
      customer: details.customer,
      shipping: details.shipping ? { name: details.shipping.name, address: details.shipping.address } : null,
      custom_values: Object.fromEntries(details.custom_fields.map((f) => [f.key, f.value])),
      expire_at: new Date(now.getTime() + options.retentionDays * 86_400_000),
    },
  };
}

/** The order as the domain sees it: the private details back in place (none when redacted or expired). */
export function mergeOrder(order: OrderRecord, customer: CustomerData | undefined): OrderRecord {
  if (!customer || !order.details || order.redacted_at) return order;
  const details = order.details;
  return {
    ...order,
    details: {
      ...details,
      customer: customer.customer,
      shipping: details.shipping
        ? {
            ...details.shipping,
            name: customer.shipping?.name ?? null,
            address: customer.shipping?.address ?? null,
          }
        : null,
      custom_fields: details.custom_fields.map((f) => ({
        ...f,
        value: customer.custom_values[f.key] ?? null,
      })),
    },
  };
}

/** What a redaction of `order` erases, by name (never the values). */
export function erasedFields(order: OrderRecord): string[] {
  const d = order.details;
  if (!d || order.redacted_at) return [];
  const out: string[] = [];
  if (d.customer.name) out.push("name");
  if (d.customer.email) out.push("email");
  if (d.customer.phone) out.push("phone");
  if (d.shipping?.name) out.push(d.shipping.source === "billing" ? "billing name" : "shipping name");
  if (d.shipping?.address) out.push(d.shipping.source === "billing" ? "billing address" : "shipping address");
  const answers = d.custom_fields.filter((f) => f.value).length;
  if (answers) out.push(`${answers} custom-field value${answers === 1 ? "" : "s"}`);
  if (order.customer_email_hash) out.push("email look-up hash");
  return out;
}

/** The order with its details erased in place; everything the fences and dedupe need stays. */
export function redactOrder(order: OrderRecord, now: Date, by: string): OrderRecord {
  return {
    ...order,
    details: order.details ? blankDetails(order.details) : (order.details ?? null),
    pii: "redacted",
    customer_email_hash: null,
    // A second redaction keeps the first one's time and author.
    redacted_at: order.redacted_at ?? now,
    redacted_by: order.redacted_by ?? by,
    updated_at: now,
  };
}
