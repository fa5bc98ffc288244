/**
 * The parts of Stripe's Checkout Session and line item objects that fulfilment
 * reads, as plain data (adapters map SDK objects onto these; the domain imports no SDK).
 */
export interface Address {
  line1?: string | null;
  line2?: string | null;
  city?: string | null;
  postal_code?: string | null;
  state?: string | null;
  country?: string | null;
}

export interface CustomField {
  key: string;
  /** "dropdown", "numeric" or "text" (others may be added by Stripe). */
  type: string;
  label?: { custom?: string | null } | null;
  dropdown?: { value?: string | null; options?: { label: string; value: string }[] } | null;
  numeric?: { value?: string | null } | null;
  text?: { value?: string | null } | null;
}

export interface CheckoutSession {
  id: string;
  livemode: boolean;
  /** "payment", "subscription" or "setup". */
  mode: string;
  /** "open", "complete" or "expired". */
  status: string | null;
  /** "paid", "unpaid" or "no_payment_required". */
  payment_status: string;
  currency: string | null;
  amount_subtotal: number | null;
  amount_total: number | null;
  subscription?: string | { id: string } | null;
  payment_intent?: string | { id: string } | null;
  /** A subscription's first invoice (created by the session). */
  invoice?: string | { id: string } | null;
  /** The Stripe customer, when the session made or used one. */
  customer?: string | { id: string } | null;
  customer_details?: {
    name?: string | null;
    email?: string | null;
    phone?: string | null;
    address?: Address | null;
  } | null;
  collected_information?: {
    shipping_details?: { name?: string | null; address?: Address | null } | null;
  } | null;
  /** Older API versions put shipping here. */
  shipping_details?: { name?: string | null; address?: Address | null } | null;
  shipping_cost?: {
    amount_total?: number | null;
    /** An id, or the rate itself when expanded (`expand[]=shipping_cost.shipping_rate`). */
    shipping_rate?: string | { id: string; display_name?: string | null } | null;
  } | null;
  /** Unix seconds. */
  created?: number | null;
  total_details?: {
    amount_discount?: number | null;
    amount_shipping?: number | null;
    amount_tax?: number | null;
  } | null;
  custom_fields?: CustomField[] | null;
  metadata?: Record<string, string> | null;
}

export interface LineItem {
  id: string;
  /** What the customer saw at checkout (the product's name, or a custom description with variants). */
  description?: string | null;
  quantity: number | null;
  /** The session's currency: amounts here are in it, whatever the price's default currency. */
  currency: string;
  /** Before discounts and taxes. */
  amount_subtotal: number;
  amount_total: number;
  price?: {
    id: string;
    /** In the price's default currency, which may differ from the session's; null for tiered and custom amounts. */
    unit_amount?: number | null;
    product?:
      | string
      | { id: string; name?: string | null; deleted?: boolean; metadata?: Record<string, string> | null }
      | null;
  } | null;
}

export interface Subscription {
  id: string;
  status?: string | null;
  /** Unix seconds; set while the subscription is on a trial. */
  trial_end?: number | null;
  latest_invoice?: string | { id: string } | null;
  metadata?: Record<string, string> | null;
}

/** A charge as fulfilment reads it after the sale. */
export interface ChargeState {
  id: string;
  payment_intent_id: string | null;
  currency: string;
  amount: number;
  amount_refunded: number;
  /** Refunded in full. */
  refunded: boolean;
  disputed: boolean;
  livemode: boolean;
}

export interface InvoiceState {
  id: string;
  status: string | null;
  amount_paid: number;
  currency: string;
  subscription_id: string | null;
  billing_reason: string | null;
}

export function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === "string" ? value : value.id;
}

export function productIdOf(item: LineItem): string | null {
  return idOf(item.price?.product ?? null);
}

/** The catalogue name of the line item's product, when the product was expanded. */
export function productNameOf(item: LineItem): string | null {
  const product = item.price?.product;
  return product && typeof product === "object" && product.name ? product.name : null;
}

/** A SKU from the product's metadata (`sku` or `SKU`), when there is one. */
export function skuOf(item: LineItem): string | null {
  const product = item.price?.product;
  const metadata = product && typeof product === "object" ? product.metadata : null;
  return metadata?.sku ?? metadata?.SKU ?? null;
}
