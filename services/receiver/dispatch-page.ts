/**
 * The warehouse's dispatch page (DESIGN 5b), served by the receiver from a signed link
 * alone: it reads no order. Small, usable on a phone, no JavaScript, no outside
 * resource, a strict Content-Security-Policy; every value on it escaped.
 */
import { createHash, randomUUID } from "node:crypto";
import type { DispatchConfirmed } from "../common/event.js";
import { escapeHtml } from "../common/html.js";

const STYLE = `body{font:16px/1.4 system-ui,sans-serif;margin:0 auto;max-width:32rem;padding:1rem}
h1{font-size:1.3rem}label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input{box-sizing:border-box;width:100%;font-size:1rem;padding:.5rem}
button{margin-top:1rem;font-size:1rem;padding:.6rem 1.2rem}
.problem{background:#f8d7da;border:2px solid #c00;padding:.5rem}.done{background:#d1e7dd;border:2px solid #0a0;padding:.5rem}`;

/** What the page may load: its own inline style (by hash), a form posting to itself, nothing else. */
export const DISPATCH_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash("sha256").update(STYLE).digest("base64")}'`,
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

function page(title: string, body: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta name="referrer" content="no-referrer">` +
    `<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`
  );
}

export interface FormValues {
  carrier: string;
  tracking_number: string;
  tracking_url: string;
}

/** The form, with what was typed kept and the problem named (a 400). */
export function dispatchForm(orderRef: string, values: Partial<FormValues> = {}, problem?: string): string {
  const field = (name: keyof FormValues, label: string, extra: string) =>
    `<label for="${name}">${label}</label><input id="${name}" name="${name}" ${extra} value="${escapeHtml(values[name] ?? "")}">`;
  return page(
    `Dispatch order ${orderRef}`,
    `<h1>Order ${escapeHtml(orderRef)}: dispatched</h1>` +
      (problem ? `<p class="problem" role="alert">${escapeHtml(problem)}</p>` : "") +
      `<form method="post">` +
      field("carrier", "Carrier", 'required maxlength="60" autocomplete="off"') +
      field("tracking_number", "Tracking number", 'required maxlength="60" autocomplete="off"') +
      field("tracking_url", "Tracking link (optional)", 'type="url" maxlength="500" inputmode="url"') +
      `<button type="submit">Record dispatch</button></form>`,
  );
}

export function recordedPage(orderRef: string, values: FormValues): string {
  return page(
    `Order ${orderRef} recorded`,
    `<h1>Order ${escapeHtml(orderRef)}</h1><p class="done">Recorded: ${escapeHtml(values.carrier)}, ` +
      `tracking number ${escapeHtml(values.tracking_number)}. A correction can be sent from the same link.</p>`,
  );
}

/** The refusal page: what is wrong with the link, nothing about any order. */
export function refusedPage(reason: "malformed" | "bad_signature" | "expired", expiresAt?: Date): string {
  const text =
    reason === "expired"
      ? `This dispatch link expired${expiresAt ? ` on ${expiresAt.toISOString().slice(0, 10)}` : ""}. Ask the shop for the order's email again, or reply to it with the tracking number.`
      : "This dispatch link is not valid: it may have been cut short or changed. Open it again from the order email.";
  return page(
    "Dispatch link",
    `<h1>Dispatch link</h1><p class="problem" role="alert">${escapeHtml(text)}</p>`,
  );
}

export function unavailablePage(): string {
  return page(
    "Try again",
    `<h1>Not recorded yet</h1><p class="problem" role="alert">The dispatch could not be recorded just now. Send the form again in a minute; nothing is recorded twice.</p>`,
  );
}

const CARRIER = /^[\p{L}\p{N} .,&'()/-]{2,60}$/u;
const TRACKING = /^[A-Za-z0-9 -]{4,60}$/;

/** The fields as the warehouse typed them, checked: lengths and characters (DESIGN 5b). */
export function validateDispatch(
  body: URLSearchParams,
): { ok: true; values: FormValues } | { ok: false; values: Partial<FormValues>; problem: string } {
  const values = {
    carrier: (body.get("carrier") ?? "").trim(),
    tracking_number: (body.get("tracking_number") ?? "").trim(),
    tracking_url: (body.get("tracking_url") ?? "").trim(),
  };
  if (!CARRIER.test(values.carrier))
    return { ok: false, values, problem: "Carrier: 2 to 60 letters, digits, spaces and . , & ' ( ) / -" };
  if (!TRACKING.test(values.tracking_number))
    return { ok: false, values, problem: "Tracking number: 4 to 60 letters, digits, spaces or dashes" };
  if (values.tracking_url) {
    const url = URL.parse(values.tracking_url);
    if (!url || url.protocol !== "https:" || values.tracking_url.length > 500)
      return {
        ok: false,
        values,
        problem: "Tracking link: an https:// address of at most 500 characters, or nothing",
      };
  }
  return { ok: true, values };
}

export function dispatchMessage(sessionId: string, values: FormValues, now: Date): DispatchConfirmed {
  return {
    type: "dispatch.confirmed",
    id: `dsp_${randomUUID().replace(/-/g, "")}`,
    session_id: sessionId,
    carrier: values.carrier,
    tracking_number: values.tracking_number.replace(/\s+/g, " "),
    tracking_url: values.tracking_url || null,
    confirmed_at: now.toISOString(),
  };
}
