/**
 * The Stripe API calls the stand-in serves, as one table: method, path and what it
 * answers from the account's state. Reads expand as Stripe expands (`expand[]`), writes
 * change the state as Stripe would; anything else is Stripe's "Unrecognized request URL".
 */
import type { Json } from "./ids.js";
import {
  answer,
  collapseProduct,
  collapseShippingRate,
  formObject,
  list,
  missing,
  page,
  stripeError,
  type Answer,
} from "./wire.js";

/** What the stand-in's account holds. */
export interface StripeState {
  readonly sessions: Map<string, Json>;
  readonly lineItems: Map<string, Json[]>;
  readonly subscriptions: Map<string, Json>;
  readonly paymentIntents: Map<string, Json>;
  readonly charges: Map<string, Json>;
  readonly invoices: Map<string, Json>;
  /** Invoice id to its payments (`invoice_payment` objects). */
  readonly invoicePayments: Map<string, Json[]>;
  readonly products: Map<string, Json>;
  readonly webhookEndpoints: Json[];
  readonly disputes: Map<string, Json>;
  readonly events: Json[];
  /** Thin events (`v2.core.event`). */
  readonly thinEvents: Json[];
}

export interface Request {
  state: StripeState;
  method: string;
  /** The path's captured id, decoded. */
  id: string;
  url: URL;
  body: URLSearchParams;
  /** The `expand[]` values. */
  expand: string[];
}

interface Route {
  methods: readonly string[];
  path: RegExp;
  serve(request: Request): Answer;
}

const GET = ["GET"] as const;
const GET_OR_POST = ["GET", "POST"] as const;

const ROUTES: Route[] = [
  { methods: GET, path: /^\/v1\/checkout\/sessions\/([^/]+)$/, serve: getSession },
  { methods: GET, path: /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/, serve: listLineItems },
  { methods: GET, path: /^\/v1\/checkout\/sessions$/, serve: listSessions },
  { methods: GET_OR_POST, path: /^\/v1\/subscriptions\/([^/]+)$/, serve: subscription },
  { methods: GET, path: /^\/v1\/products\/([^/]+)$/, serve: getProduct },
  { methods: GET, path: /^\/v1\/webhook_endpoints$/, serve: listWebhookEndpoints },
  { methods: GET_OR_POST, path: /^\/v1\/payment_intents\/([^/]+)$/, serve: paymentIntent },
  { methods: GET, path: /^\/v1\/charges\/([^/]+)$/, serve: getCharge },
  { methods: GET_OR_POST, path: /^\/v1\/disputes\/([^/]+)$/, serve: dispute },
  { methods: GET, path: /^\/v1\/invoices\/([^/]+)$/, serve: getInvoice },
  { methods: GET, path: /^\/v1\/invoice_payments$/, serve: listInvoicePayments },
  { methods: GET, path: /^\/v1\/events$/, serve: listEvents },
  { methods: GET, path: /^\/v2\/core\/events$/, serve: listThinEvents },
];

/** Answers one authenticated, admitted API request from the account's state. */
export function serveRequest(state: StripeState, method: string, url: URL, body: URLSearchParams): Answer {
  const limit = url.searchParams.get("limit");
  if (limit !== null && !(Number(limit) >= 1 && Number(limit) <= 100)) {
    return answer(400, {
      error: {
        type: "invalid_request_error",
        param: "limit",
        message: "This value must be less than or equal to 100 (it currently is '" + limit + "').",
      },
    });
  }
  const expand = [...url.searchParams.entries()].filter(([k]) => k.startsWith("expand")).map(([, v]) => v);
  for (const route of ROUTES) {
    const m = route.methods.includes(method) ? route.path.exec(url.pathname) : null;
    if (m) return route.serve({ state, method, id: decodeURIComponent(m[1] ?? ""), url, body, expand });
  }
  return answer(
    404,
    stripeError("invalid_request_error", `Unrecognized request URL (${method}: ${url.pathname})`),
  );
}

function getSession({ state, id, expand }: Request): Answer {
  const session = state.sessions.get(id);
  if (!session) return missing("checkout.session", id);
  const shaped = expand.includes("shipping_cost.shipping_rate") ? session : collapseShippingRate(session);
  return answer(200, expandSession(state, shaped, expand));
}

function listLineItems({ state, id, url, expand }: Request): Answer {
  const items = state.lineItems.get(id);
  if (!items) return missing("checkout.session", id);
  const shaped = items.map((item) => (expand.includes("data.price.product") ? item : collapseProduct(item)));
  return answer(200, page(shaped, url, `/v1/checkout/sessions/${id}/line_items`));
}

function listSessions({ state, url }: Request): Answer {
  const intent = url.searchParams.get("payment_intent");
  const subscription = url.searchParams.get("subscription");
  const selected = [...state.sessions.values()].filter(
    (s) =>
      (intent === null || s.payment_intent === intent) &&
      (subscription === null || s.subscription === subscription),
  );
  return answer(200, page(selected.map(collapseShippingRate), url, "/v1/checkout/sessions"));
}

/** GET, or POST `metadata[…]` (the `initial_order_processed` marker). */
function subscription({ state, method, id, body }: Request): Answer {
  const found = state.subscriptions.get(id);
  if (!found) return missing("subscription", id);
  if (method === "POST") {
    const metadata = { ...((found.metadata as Record<string, string>) ?? {}) };
    for (const [key, value] of body.entries()) {
      const k = /^metadata\[(.+)\]$/.exec(key);
      if (k?.[1]) metadata[k[1]] = value;
    }
    found.metadata = metadata;
  }
  return answer(200, found);
}

function getProduct({ state, id }: Request): Answer {
  const product = state.products.get(id);
  return product ? answer(200, product) : missing("product", id);
}

function listWebhookEndpoints({ state, url }: Request): Answer {
  return answer(200, page(state.webhookEndpoints, url, "/v1/webhook_endpoints"));
}

/** GET (`latest_charge` expandable), or POST `shipping[…]` (what the dispatch writes). */
function paymentIntent({ state, method, id, body, expand }: Request): Answer {
  const intent = state.paymentIntents.get(id);
  if (!intent) return missing("payment_intent", id);
  if (method === "POST") {
    const shipping = formObject(body, "shipping");
    if (shipping) intent.shipping = { ...(intent.shipping ?? {}), ...shipping };
    return answer(200, intent);
  }
  const charge = expand.includes("latest_charge")
    ? state.charges.get(intent.latest_charge as string)
    : undefined;
  return answer(200, charge ? { ...intent, latest_charge: charge } : intent);
}

function getCharge({ state, id }: Request): Answer {
  const charge = state.charges.get(id);
  return charge ? answer(200, charge) : missing("charge", id);
}

/** GET, or POST `evidence[…]` and `submit` (a dispute's evidence). */
function dispute({ state, method, id, body }: Request): Answer {
  const found = state.disputes.get(id);
  if (!found) return missing("dispute", id);
  if (method === "POST") {
    const evidence = formObject(body, "evidence");
    if (evidence) found.evidence = { ...(found.evidence ?? {}), ...evidence };
    if (body.get("submit") === "true") found.status = "under_review";
  }
  return answer(200, found);
}

/** An invoice; `payments` is includable: present only when expanded. */
function getInvoice({ state, id, expand }: Request): Answer {
  const invoice = state.invoices.get(id);
  if (!invoice) return missing("invoice", id);
  if (!expand.some((e) => e === "payments" || e.startsWith("payments."))) return answer(200, invoice);
  const withIntents = expand.includes("payments.data.payment.payment_intent");
  const payments = (state.invoicePayments.get(id) ?? []).map((p) =>
    withIntents ? expandIntent(state, p) : p,
  );
  return answer(200, { ...invoice, payments: list(payments, `/v1/invoice_payments?invoice=${id}`) });
}

function listInvoicePayments({ state, url }: Request): Answer {
  const invoice = url.searchParams.get("invoice");
  const intent = url.searchParams.get("payment[payment_intent]");
  const selected = [...state.invoicePayments.values()]
    .flat()
    .filter(
      (p) =>
        (invoice === null || p.invoice === invoice) &&
        (intent === null || (p.payment as Json).payment_intent === intent),
    );
  return answer(200, page(selected, url, "/v1/invoice_payments"));
}

/** `GET /v1/events`: `type` or `types[]`, `created[gte|lte]` in seconds, newest first. */
function listEvents({ state, url }: Request): Answer {
  const types = [...url.searchParams.entries()]
    .filter(([k]) => k === "type" || k.startsWith("types"))
    .map(([, v]) => v);
  const gte = Number(url.searchParams.get("created[gte]") ?? -Infinity);
  const lte = Number(url.searchParams.get("created[lte]") ?? Infinity);
  const selected = state.events
    .filter((e) => (types.length ? types.includes(e.type as string) : true))
    .filter((e) => (e.created as number) >= gte && (e.created as number) <= lte)
    .sort((a, b) => (b.created as number) - (a.created as number));
  return answer(200, page(selected, url, "/v1/events"));
}

/**
 * `GET /v2/core/events` as the v2 API answers it: `types` (repeated or indexed),
 * `created[gte|lte]` as RFC 3339 times, newest first, and a `page` token in
 * `next_page_url` rather than v1's `starting_after`.
 */
function listThinEvents({ state, url }: Request): Answer {
  const types = [...url.searchParams.entries()]
    .filter(([k]) => /^types(\[\d*\])?$/.test(k))
    .map(([, v]) => v);
  const bound = (key: string, fallback: number) => {
    const value = url.searchParams.get(`created[${key}]`);
    return value === null ? fallback : Date.parse(value);
  };
  const gte = bound("gte", -Infinity);
  const lte = bound("lte", Infinity);
  const selected = state.thinEvents
    .filter((e) => (types.length ? types.includes(e.type as string) : true))
    .filter((e) => Date.parse(e.created as string) >= gte && Date.parse(e.created as string) <= lte)
    .sort((a, b) => Date.parse(b.created as string) - Date.parse(a.created as string));
  const limit = Math.min(Number(url.searchParams.get("limit") ?? 20), 100);
  const start = Number(url.searchParams.get("page") ?? 0);
  const data = selected.slice(start, start + limit);
  let next: string | null = null;
  if (start + limit < selected.length) {
    const query = new URLSearchParams(url.searchParams);
    query.set("page", String(start + limit));
    next = `/v2/core/events?${query.toString()}`;
  }
  return answer(200, { data, next_page_url: next, previous_page_url: null });
}

/**
 * What a session read expands, as Stripe expands it: `line_items` (includable, its
 * first page of 10 with `has_more`; `line_items.data.price.product` with products),
 * `payment_intent` (`.latest_charge`), `subscription`, and `invoice` (`.payments`,
 * includable). An expanded field that is null stays null.
 */
function expandSession(state: StripeState, session: Json, expand: string[]): Json {
  const has = (field: string) => expand.some((e) => e === field || e.startsWith(`${field}.`));
  const out: Json = { ...session };
  const id = session.id as string;
  if (has("line_items")) {
    const items = (state.lineItems.get(id) ?? []).map((item) =>
      expand.includes("line_items.data.price.product") ? item : collapseProduct(item),
    );
    out.line_items = {
      object: "list",
      data: items.slice(0, 10),
      has_more: items.length > 10,
      url: `/v1/checkout/sessions/${id}/line_items`,
    };
  }
  if (has("payment_intent") && typeof session.payment_intent === "string") {
    const intent = state.paymentIntents.get(session.payment_intent);
    if (intent) {
      const charge = expand.includes("payment_intent.latest_charge")
        ? state.charges.get(intent.latest_charge as string)
        : undefined;
      out.payment_intent = charge ? { ...intent, latest_charge: charge } : intent;
    }
  }
  if (has("subscription") && typeof session.subscription === "string")
    out.subscription = state.subscriptions.get(session.subscription) ?? session.subscription;
  if (has("invoice") && typeof session.invoice === "string") {
    const invoice = state.invoices.get(session.invoice);
    if (invoice)
      out.invoice = expand.includes("invoice.payments")
        ? {
            ...invoice,
            payments: list(
              state.invoicePayments.get(session.invoice) ?? [],
              `/v1/invoice_payments?invoice=${session.invoice}`,
            ),
          }
        : invoice;
  }
  return out;
}

function expandIntent(state: StripeState, payment: Json): Json {
  const inner = payment.payment as Json;
  const intent = state.paymentIntents.get(inner.payment_intent as string);
  return intent ? { ...payment, payment: { ...inner, payment_intent: intent } } : payment;
}
