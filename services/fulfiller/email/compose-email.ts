import { formatAmount } from "./currency.js";
import { escapeHtml } from "../../common/html.js";
import { orderReference } from "../../common/order-reference.js";
import type { OrderDetails } from "../claims/order-state.js";
import { formatPostalAddress, hasStreetLine } from "./postal-address.js";

export interface OrderEmail {
  subject: string;
  text: string;
  html: string;
  /** SendGrid custom_args: come back on delivery events, so they trace to the order. */
  customArgs: Record<string, string>;
  /** The same content for a dynamic template. */
  templateData: Record<string, unknown>;
}

export { escapeHtml };

/** Header-safe: no CR/LF or other control characters, bounded length. */
export function headerSafe(value: string, max = 200): string {
  const flat = value
    // eslint-disable-next-line no-control-regex -- removing control characters is the point
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Text for the plain part: control characters other than newline removed, each value bounded. */
export function plain(value: string | null | undefined, max = 500): string {
  if (value === null || value === undefined || value === "") return "-";
  // eslint-disable-next-line no-control-regex
  const cleaned = value.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, " ").replace(/\r?\n/g, " ");
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}…` : cleaned;
}

export function html(value: string | null | undefined, max = 500): string {
  return escapeHtml(plain(value, max));
}

export { orderReference };

const DATE = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeZone: "UTC" });
export const DATE_TIME = new Intl.DateTimeFormat("en-GB", {
  dateStyle: "medium",
  timeStyle: "short",
  timeZone: "UTC",
});

export interface ComposeOptions {
  sessionId: string;
  details: OrderDetails;
  /** The signed link the warehouse records the dispatch with (DESIGN 5b); none without DISPATCH_LINK_SECRET. */
  dispatchLink?: string | null;
}

interface ItemRow {
  quantity: number;
  description: string;
  /** Product name (when it differs), product id and SKU. */
  identity: string;
  unit: string | null;
  total: string;
}

function itemRows(details: OrderDetails): ItemRow[] {
  const money = (amount: number | null) => formatAmount(amount, details.currency);
  return details.line_items.map((item) => {
    const description = item.description ?? item.name ?? item.product_id ?? "item";
    const named = item.product_name && item.product_name !== description ? `"${item.product_name}"` : null;
    const identity = [
      named,
      item.product_id ? `product ${item.product_id}` : null,
      item.sku ? `SKU ${item.sku}` : null,
    ]
      .filter(Boolean)
      .join(", ");
    return {
      quantity: item.quantity,
      description,
      identity,
      unit: item.unit_amount === null ? null : money(item.unit_amount),
      total: money(item.amount_total),
    };
  });
}

/** Notes the packer must read before shipping. */
function warnings(details: OrderDetails): string[] {
  const out: string[] = [];
  const address = details.shipping?.address;
  if (!address) out.push("No address was collected: do not ship until the customer gives one.");
  else if (!hasStreetLine(address))
    out.push("This address has no street line: do not ship until the customer confirms a full address.");
  if (details.shipping?.source === "billing" && address)
    out.push("No shipping address was collected at checkout: this is the customer's billing address.");
  return out;
}

/** The fulfilment email: a packing slip in text and HTML with the same content, every customer value escaped. */
export function composeOrderEmail({ sessionId, details, dispatchLink = null }: ComposeOptions): OrderEmail {
  const money = (amount: number | null) => formatAmount(amount, details.currency);
  const reference = orderReference(sessionId);
  const testBanner = details.livemode
    ? null
    : "TEST MODE: this order was paid with a Stripe test key. Do not ship.";
  const addressLines = details.shipping?.address ? formatPostalAddress(details.shipping.address) : [];
  const shipTo = [details.shipping?.name ?? null, ...addressLines].filter((l): l is string => !!l);
  const addressLabel = details.shipping?.source === "billing" ? "Billing address (ship here)" : "Ship to";
  const notes = warnings(details);
  const customer = details.customer;
  const subject = headerSafe(
    `${details.livemode ? "" : "[TEST] "}Order ${reference} to ship: ${customer.name ?? customer.email ?? "customer"}`,
  );

  const rows = itemRows(details);
  const units = rows.reduce((sum, r) => sum + r.quantity, 0);
  const itemsHeading = `Items: ${units} ${units === 1 ? "unit" : "units"} in ${rows.length} ${rows.length === 1 ? "line" : "lines"}`;
  const trialNote = details.trial
    ? `Trial: no payment yet${details.trial.ends_at ? `, first charge on ${DATE.format(details.trial.ends_at)}` : ""}.`
    : null;
  const totals: [string, string][] = [
    ["Subtotal", money(details.totals.subtotal)],
    ...(details.totals.shipping
      ? ([["Shipping", money(details.totals.shipping)]] as [string, string][])
      : []),
    ...(details.totals.discount
      ? ([["Discount", `-${money(details.totals.discount)}`]] as [string, string][])
      : []),
    ...(details.totals.tax ? ([["Tax", money(details.totals.tax)]] as [string, string][]) : []),
    [details.trial ? "Total (after the trial)" : "Total", money(details.totals.total)],
    ...(details.refunded
      ? ([["Refunded before shipping", `-${money(details.refunded)}`]] as [string, string][])
      : []),
  ];
  const facts: [string, string][] = [
    ["Order reference", `${reference} (Checkout Session ${sessionId})`],
    ...(details.ordered_at
      ? ([["Ordered", `${DATE_TIME.format(details.ordered_at)} UTC`]] as [string, string][])
      : []),
    ...(details.shipping_method
      ? ([["Shipping method", details.shipping_method]] as [string, string][])
      : []),
  ];
  const references: [string, string | null][] = [
    ["Subscription", details.subscription_id],
    ["Payment", details.payment_intent_id],
  ];
  const itemLine = (r: ItemRow) =>
    `  ${r.quantity} x ${plain(r.description)}${r.unit ? ` @ ${r.unit}` : ""} = ${r.total}` +
    (r.identity ? `\n      ${plain(r.identity)}` : "");

  const text = [
    ...(testBanner ? [testBanner, ""] : []),
    `Order ${reference} needs to be shipped.`,
    "",
    ...facts.map(([k, v]) => `${k}: ${plain(v)}`),
    ...(trialNote ? [trialNote] : []),
    "",
    ...notes.map((n) => `WARNING: ${n}`),
    ...(notes.length ? [""] : []),
    addressLabel,
    ...(shipTo.length ? shipTo.map((l) => `  ${plain(l)}`) : ["  (no address collected)"]),
    "",
    "Customer",
    `  Name:  ${plain(customer.name)}`,
    `  Email: ${plain(customer.email)}`,
    `  Phone: ${plain(customer.phone)}`,
    "",
    itemsHeading,
    ...rows.map(itemLine),
    "",
    ...totals.map(([k, v]) => `${k}: ${v}`),
    ...(details.custom_fields.length
      ? [
          "",
          "Customer answers",
          ...details.custom_fields.map((f) => `  ${plain(f.label)}: ${plain(f.value)}`),
        ]
      : []),
    ...(references.some(([, v]) => v) ? [""] : []),
    ...references.filter(([, v]) => v).map(([k, v]) => `${k}: ${plain(v)}`),
    ...(dispatchLink
      ? [
          "",
          "Dispatched? Record the carrier and tracking number (one link per order, valid 30 days):",
          dispatchLink,
        ]
      : []),
    "",
  ].join("\n");

  const cell = (v: string) => `<td style="padding:4px 8px;border-bottom:1px solid #ddd">${v}</td>`;
  const htmlBody = [
    "<!doctype html>",
    `<html><head><meta charset="utf-8"><title>Order ${escapeHtml(reference)}</title></head><body style="font-family:sans-serif">`,
    ...(testBanner
      ? [
          `<p style="background:#fff3cd;border:2px solid #c90;padding:8px;font-weight:bold">${escapeHtml(testBanner)}</p>`,
        ]
      : []),
    `<h1>Order ${escapeHtml(reference)} to ship</h1>`,
    `<p>${facts.map(([k, v]) => `<b>${k}:</b> ${html(v)}`).join("<br>")}${trialNote ? `<br><b>${escapeHtml(trialNote)}</b>` : ""}</p>`,
    ...notes.map(
      (n) =>
        `<p style="background:#f8d7da;border:2px solid #c00;padding:8px;font-weight:bold">WARNING: ${escapeHtml(n)}</p>`,
    ),
    `<h2>${addressLabel}</h2>`,
    `<p>${shipTo.length ? shipTo.map((l) => html(l)).join("<br>") : "(no address collected)"}</p>`,
    "<h2>Customer</h2>",
    `<p>${html(customer.name)}<br>${html(customer.email)}<br>${html(customer.phone)}</p>`,
    `<h2>${itemsHeading}</h2>`,
    '<table style="border-collapse:collapse"><thead><tr><th>Qty</th><th>Item</th><th>Unit</th><th>Total</th></tr></thead><tbody>',
    ...rows.map(
      (r) =>
        `<tr>${cell(String(r.quantity))}${cell(`${html(r.description)}${r.identity ? `<br><small>${html(r.identity)}</small>` : ""}`)}${cell(r.unit ? escapeHtml(r.unit) : "")}${cell(escapeHtml(r.total))}</tr>`,
    ),
    "</tbody></table>",
    `<table>${totals.map(([k, v]) => `<tr><th style="text-align:left">${k}</th>${cell(escapeHtml(v))}</tr>`).join("")}</table>`,
    ...(details.custom_fields.length
      ? [
          "<h2>Customer answers</h2><ul>",
          ...details.custom_fields.map((f) => `<li>${html(f.label)}: ${html(f.value)}</li>`),
          "</ul>",
        ]
      : []),
    `<p style="color:#666">${references
      .filter(([, v]) => v)
      .map(([k, v]) => `${k}: ${html(v)}`)
      .join("<br>")}</p>`,
    ...(dispatchLink
      ? [
          `<p><a href="${escapeHtml(dispatchLink)}" style="font-weight:bold">Record the dispatch (carrier and tracking number)</a><br><small>${escapeHtml(dispatchLink)}</small></p>`,
        ]
      : []),
    "</body></html>",
  ].join("\n");

  return {
    subject,
    text,
    html: htmlBody,
    customArgs: {
      order_id: sessionId,
      order_ref: reference,
      email_kind: "order",
      livemode: String(details.livemode),
    },
    templateData: {
      subject,
      test_mode: !details.livemode,
      session_id: sessionId,
      order_reference: reference,
      ordered_at: details.ordered_at?.toISOString() ?? null,
      shipping_method: details.shipping_method ?? null,
      warnings: notes,
      trial: trialNote,
      customer: { name: customer.name, email: customer.email, phone: customer.phone },
      shipping: details.shipping,
      address_lines: shipTo,
      units,
      line_items: rows,
      totals: Object.fromEntries(totals.map(([k, v]) => [k.toLowerCase(), v])),
      custom_fields: details.custom_fields,
      subscription_id: details.subscription_id,
      payment_intent_id: details.payment_intent_id,
      dispatch_url: dispatchLink,
    },
  };
}
