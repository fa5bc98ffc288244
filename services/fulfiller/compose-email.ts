import { formatAmount } from "./currency.js";
import type { OrderDetails } from "./order-state.js";

export interface OrderEmail {
  subject: string;
  text: string;
  html: string;
  /** SendGrid custom_args: come back on delivery events, so they trace to the order. */
  customArgs: Record<string, string>;
  /** The same content for a dynamic template. */
  templateData: Record<string, unknown>;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

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
function plain(value: string | null | undefined, max = 500): string {
  if (value === null || value === undefined || value === "") return "-";
  // eslint-disable-next-line no-control-regex
  const cleaned = value.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, " ").replace(/\r?\n/g, " ");
  return cleaned.length > max ? `${cleaned.slice(0, max - 1)}…` : cleaned;
}

function html(value: string | null | undefined, max = 500): string {
  return escapeHtml(plain(value, max));
}

export interface ComposeOptions {
  sessionId: string;
  details: OrderDetails;
}

/** The fulfilment email: text and HTML parts with the same content, every customer value escaped. */
export function composeOrderEmail({ sessionId, details }: ComposeOptions): OrderEmail {
  const money = (amount: number | null) => formatAmount(amount, details.currency);
  const testBanner = details.livemode
    ? null
    : "TEST MODE: this order was paid with a Stripe test key. Do not ship.";
  const shipTo = details.shipping?.address
    ? [
        details.shipping.name,
        details.shipping.address.line1,
        details.shipping.address.line2,
        [details.shipping.address.postal_code, details.shipping.address.city].filter(Boolean).join(" "),
        details.shipping.address.state,
        details.shipping.address.country,
      ].filter((part): part is string => !!part)
    : [];
  const customer = details.customer;
  const subject = headerSafe(
    `${details.livemode ? "" : "[TEST] "}New order to ship: ${customer.name ?? customer.email ?? sessionId} (${sessionId.slice(-8)})`,
  );

  const lineRows = details.line_items.map((item) => ({
    name: item.name,
    quantity: item.quantity,
    unit: money(item.unit_amount),
    total: money(item.amount_total),
    product_id: item.product_id,
  }));
  const totals: [string, string][] = [
    ["Subtotal", money(details.totals.subtotal)],
    ...(details.totals.shipping
      ? ([["Shipping", money(details.totals.shipping)]] as [string, string][])
      : []),
    ...(details.totals.discount
      ? ([["Discount", `-${money(details.totals.discount)}`]] as [string, string][])
      : []),
    ...(details.totals.tax ? ([["Tax", money(details.totals.tax)]] as [string, string][]) : []),
    ["Total", money(details.totals.total)],
  ];
  const references: [string, string | null][] = [
    ["Checkout Session", sessionId],
    ["Subscription", details.subscription_id],
    ["Payment", details.payment_intent_id],
  ];

  const text = [
    ...(testBanner ? [testBanner, ""] : []),
    "A new order needs to be shipped.",
    "",
    "Customer",
    `  Name:  ${plain(customer.name)}`,
    `  Email: ${plain(customer.email)}`,
    `  Phone: ${plain(customer.phone)}`,
    "",
    "Ship to",
    ...(shipTo.length ? shipTo.map((l) => `  ${plain(l)}`) : ["  (no address collected)"]),
    "",
    `Items (${lineRows.length})`,
    ...lineRows.map((r) => `  ${r.quantity} x ${plain(r.name)} @ ${r.unit} = ${r.total}`),
    "",
    ...totals.map(([k, v]) => `${k}: ${v}`),
    ...(details.custom_fields.length
      ? [
          "",
          "Customer answers",
          ...details.custom_fields.map((f) => `  ${plain(f.label)}: ${plain(f.value)}`),
        ]
      : []),
    "",
    ...references.filter(([, v]) => v).map(([k, v]) => `${k}: ${plain(v)}`),
    "",
  ].join("\n");

  const cell = (v: string) => `<td style="padding:4px 8px;border-bottom:1px solid #ddd">${v}</td>`;
  const htmlBody = [
    "<!doctype html>",
    '<html><head><meta charset="utf-8"><title>New order</title></head><body style="font-family:sans-serif">',
    ...(testBanner
      ? [
          `<p style="background:#fff3cd;border:2px solid #c90;padding:8px;font-weight:bold">${escapeHtml(testBanner)}</p>`,
        ]
      : []),
    "<h1>New order to ship</h1>",
    "<h2>Customer</h2>",
    `<p>${html(customer.name)}<br>${html(customer.email)}<br>${html(customer.phone)}</p>`,
    "<h2>Ship to</h2>",
    `<p>${shipTo.length ? shipTo.map((l) => html(l)).join("<br>") : "(no address collected)"}</p>`,
    `<h2>Items (${lineRows.length})</h2>`,
    '<table style="border-collapse:collapse"><thead><tr><th>Qty</th><th>Item</th><th>Unit</th><th>Total</th></tr></thead><tbody>',
    ...lineRows.map(
      (r) =>
        `<tr>${cell(String(r.quantity))}${cell(html(r.name))}${cell(escapeHtml(r.unit))}${cell(escapeHtml(r.total))}</tr>`,
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
    "</body></html>",
  ].join("\n");

  return {
    subject,
    text,
    html: htmlBody,
    customArgs: { order_id: sessionId, session_id: sessionId, livemode: String(details.livemode) },
    templateData: {
      subject,
      test_mode: !details.livemode,
      session_id: sessionId,
      customer: { name: customer.name, email: customer.email, phone: customer.phone },
      shipping: details.shipping,
      line_items: lineRows,
      totals: Object.fromEntries(totals.map(([k, v]) => [k.toLowerCase(), v])),
      custom_fields: details.custom_fields,
      subscription_id: details.subscription_id,
      payment_intent_id: details.payment_intent_id,
    },
  };
}
