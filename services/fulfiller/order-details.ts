import { customFieldValue } from "./decide-fulfilment.js";
import type { OrderDetails } from "./order-state.js";
import {
  idOf,
  productIdOf,
  productNameOf,
  type Address,
  type CheckoutSession,
  type LineItem,
} from "./session.js";

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
 * top-level `shipping_details`, else the billing address in `customer_details`.
 */
export function shippingOf(session: CheckoutSession): OrderDetails["shipping"] {
  const candidates = [session.collected_information?.shipping_details, session.shipping_details];
  for (const candidate of candidates) {
    const address = addressRecord(candidate?.address);
    if (address) return { name: candidate?.name ?? session.customer_details?.name ?? null, address };
  }
  const billing = addressRecord(session.customer_details?.address);
  return billing ? { name: session.customer_details?.name ?? null, address: billing } : null;
}

/** The order as recorded in Firestore and shown in the email. */
export function buildOrderDetails(session: CheckoutSession, lineItems: readonly LineItem[]): OrderDetails {
  return {
    mode: session.mode,
    livemode: session.livemode,
    currency: session.currency,
    customer: {
      name: session.customer_details?.name ?? null,
      email: session.customer_details?.email ?? null,
      phone: session.customer_details?.phone ?? null,
    },
    shipping: shippingOf(session),
    line_items: lineItems.map((item) => ({
      product_id: productIdOf(item),
      name: productNameOf(item),
      quantity: item.quantity ?? 1,
      unit_amount: item.price?.unit_amount ?? null,
      amount_total: item.amount_total,
    })),
    totals: {
      subtotal: session.amount_subtotal,
      shipping: session.total_details?.amount_shipping ?? session.shipping_cost?.amount_total ?? null,
      discount: session.total_details?.amount_discount ?? null,
      tax: session.total_details?.amount_tax ?? null,
      total: session.amount_total,
    },
    subscription_id: idOf(session.subscription),
    payment_intent_id: idOf(session.payment_intent),
    custom_fields: (session.custom_fields ?? []).map((field) => ({
      key: field.key,
      label: field.label?.custom ?? field.key,
      value: customFieldValue(field),
    })),
  };
}
