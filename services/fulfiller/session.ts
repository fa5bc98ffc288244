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
  shipping_cost?: { amount_total?: number | null } | null;
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
  description?: string | null;
  quantity: number | null;
  currency: string;
  amount_subtotal: number;
  amount_total: number;
  price?: {
    id: string;
    unit_amount?: number | null;
    product?: string | { id: string; name?: string | null; deleted?: boolean } | null;
  } | null;
}

export function idOf(value: string | { id: string } | null | undefined): string | null {
  if (!value) return null;
  return typeof value === "string" ? value : value.id;
}

export function productIdOf(item: LineItem): string | null {
  return idOf(item.price?.product ?? null);
}

export function productNameOf(item: LineItem): string {
  const product = item.price?.product;
  if (product && typeof product === "object" && product.name) return product.name;
  return item.description ?? productIdOf(item) ?? item.id;
}
