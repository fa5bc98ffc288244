import { customFieldValue } from "./decide-fulfilment.js";
import type { OrderDetails } from "../claims/order-state.js";
import {
  idOf,
  productIdOf,
  productNameOf,
  skuOf,
  type Address,
  type CheckoutSession,
  type LineItem,
  type Subscription,
} from "../session.js";

function addressRecord(address: Address | null | undefined): Record<string, string | null> | null {
  if (!address) return null;
  const record = {
    line1: address.line1 ?? null,
    line2: address.line2 ?? null,
    city: address.city ?? null,
    postal_code: address.postal_code ?? null,
    state: address.state ?? null,
    country: address.country ?? null,
  };
  return Object.values(record).some((v) => v) ? record : null;
}

/**
 * Where to ship: `collected_information.shipping_details` (current API), the older
 * top-level `shipping_details`, else the billing address in `customer_details`,
 * marked as such: no shipping address was collected.
 */
export function shippingOf(session: CheckoutSession): OrderDetails["shipping"] {
  const candidates = [session.collected_information?.shipping_details, session.shipping_details];
  for (const candidate of candidates) {
    const address = addressRecord(candidate?.address);
    if (address)
      return { name: candidate?.name ?? session.customer_details?.name ?? null, address, source: "shipping" };
  }
  const billing = addressRecord(session.customer_details?.address);
  return billing
    ? { name: session.customer_details?.name ?? null, address: billing, source: "billing" }
    : null;
}

/**
 * The unit amount in the session's currency, from the line item's own amounts (the
 * price's `unit_amount` is in the price's default currency, and null for tiered and
 * custom amounts). Null when the quantity does not divide the subtotal evenly.
 */
export function unitAmountOf(item: LineItem): number | null {
  const quantity = item.quantity ?? 1;
  if (quantity <= 0 || item.amount_subtotal % quantity !== 0) return null;
  return item.amount_subtotal / quantity;
}

function shippingMethodOf(session: CheckoutSession): string | null {
  const rate = session.shipping_cost?.shipping_rate;
  return rate && typeof rate === "object" ? (rate.display_name ?? null) : null;
}

/** The order as recorded in Firestore and shown in the email. */
export function buildOrderDetails(
  session: CheckoutSession,
  lineItems: readonly LineItem[],
  subscription?: Subscription | null,
): OrderDetails {
  const onTrial = session.mode === "subscription" && session.payment_status === "no_payment_required";
  return {
    mode: session.mode,
    livemode: session.livemode,
    currency: session.currency,
    ordered_at: session.created ? new Date(session.created * 1000) : null,
    customer: {
      name: session.customer_details?.name ?? null,
      email: session.customer_details?.email ?? null,
      phone: session.customer_details?.phone ?? null,
    },
    shipping: shippingOf(session),
    shipping_method: shippingMethodOf(session),
    line_items: lineItems.map((item) => {
      const productName = productNameOf(item);
      return {
        description: item.description ?? productName ?? productIdOf(item) ?? item.id,
        product_id: productIdOf(item),
        product_name: productName,
        sku: skuOf(item),
        quantity: item.quantity ?? 1,
        unit_amount: unitAmountOf(item),
        amount_total: item.amount_total,
      };
    }),
    totals: {
      subtotal: session.amount_subtotal,
      shipping: session.total_details?.amount_shipping ?? session.shipping_cost?.amount_total ?? null,
      discount: session.total_details?.amount_discount ?? null,
      tax: session.total_details?.amount_tax ?? null,
      total: session.amount_total,
    },
    trial: onTrial
      ? { ends_at: subscription?.trial_end ? new Date(subscription.trial_end * 1000) : null }
      : null,
    subscription_id: idOf(session.subscription),
    payment_intent_id: idOf(session.payment_intent),
    custom_fields: (session.custom_fields ?? []).map((field) => ({
      key: field.key,
      label: field.label?.custom ?? field.key,
      value: customFieldValue(field),
    })),
  };
}
