import {
  DATE_TIME,
  escapeHtml,
  headerSafe,
  html,
  orderReference,
  plain,
  type OrderEmail,
} from "./compose-email.js";
import { formatAmount } from "./currency.js";
import type { AfterSale, OrderRecord } from "../claims/order-state.js";
import { formatPostalAddress } from "./postal-address.js";

const HAPPENED: Record<AfterSale["kind"], string> = {
  refunded: "The customer's payment was refunded in full.",
  disputed: "The customer disputed the payment with their bank (a chargeback).",
  partially_refunded: "Part of the customer's payment was refunded.",
};

/**
 * The stop-shipment notice (section 5a): sent once to the fulfilment team when an order
 * already emailed is refunded in full or disputed. It names the order as the order email
 * did (same reference, same session id), says what happened with the amounts, and repeats
 * who and where, so the parcel can be found and held.
 */
export function composeStopNotice(order: OrderRecord, sale: AfterSale): OrderEmail {
  const sessionId = order.session_id;
  const reference = orderReference(sessionId);
  const details = order.details;
  const money = (amount: number | null) => formatAmount(amount, sale.currency ?? details?.currency ?? null);
  const customer = details?.customer;
  const who = customer?.name ?? customer?.email ?? "customer";
  const test = details && !details.livemode;
  const subject = headerSafe(
    `STOP SHIPMENT: order ${reference} (${sale.kind === "disputed" ? "payment disputed" : "refunded"})${test ? " [TEST]" : ""}`,
  );
  const address = details?.shipping?.address ? formatPostalAddress(details.shipping.address) : [];
  const shipTo = [details?.shipping?.name ?? null, ...address].filter((l): l is string => !!l);
  const items = (details?.line_items ?? []).map(
    (i) => `${i.quantity} x ${i.description ?? i.name ?? i.product_id ?? "item"}`,
  );
  const sentAt = order.email.sent_at ? DATE_TIME.format(order.email.sent_at) : "earlier";
  const facts: [string, string][] = [
    ["Order reference", reference],
    ["Order id (Checkout Session)", sessionId],
    [
      "Order email sent",
      `${sentAt} UTC${order.email.message_id ? ` (SendGrid ${order.email.message_id})` : ""}`,
    ],
    ["What happened", HAPPENED[sale.kind]],
    ["Charged", money(sale.amount)],
    ["Refunded", money(sale.amount_refunded)],
    ["Stripe charge", sale.charge_id ?? "-"],
    ...(sale.dispute_id ? ([["Stripe dispute", sale.dispute_id]] as [string, string][]) : []),
    ["Customer", who],
  ];
  const action =
    "Do not ship this order. If it has already left, contact the carrier to stop or return it, and reply to say which.";
  const text = [
    ...(test ? ["TEST MODE: a Stripe test-mode order.", ""] : []),
    `STOP SHIPMENT for order ${reference}.`,
    action,
    "",
    ...facts.map(([k, v]) => `${k}: ${plain(v)}`),
    "",
    "Ship to (as in the order email):",
    ...(shipTo.length ? shipTo.map((l) => `  ${plain(l)}`) : ["  -"]),
    "",
    "Items:",
    ...(items.length ? items.map((l) => `  ${plain(l)}`) : ["  -"]),
    "",
  ].join("\n");
  const body = [
    ...(test ? [`<p><b>TEST MODE: a Stripe test-mode order.</b></p>`] : []),
    `<h1>STOP SHIPMENT for order ${escapeHtml(reference)}</h1>`,
    `<p><b>${escapeHtml(action)}</b></p>`,
    `<p>${facts.map(([k, v]) => `<b>${escapeHtml(k)}:</b> ${html(v)}`).join("<br>")}</p>`,
    `<p><b>Ship to (as in the order email):</b><br>${shipTo.map((l) => html(l)).join("<br>") || "-"}</p>`,
    `<p><b>Items:</b><br>${items.map((l) => html(l)).join("<br>") || "-"}</p>`,
  ].join("\n");
  return {
    subject,
    text,
    html: `<!doctype html><html><body>${body}</body></html>`,
    customArgs: { order_id: sessionId, order_ref: reference, email_kind: "stop_notice" },
    templateData: {},
  };
}
