/**
 * A local stand-in for the Stripe API calls this product makes, speaking Stripe's
 * wire format (form-encoded requests, JSON objects and lists, Stripe error bodies),
 * so the real stripe SDK can be pointed at it with host/port/protocol.
 */
import http from "node:http";
import { FaultPlan, type Fault } from "./fault-plan.js";
import { LocalHttpServer, sendJson } from "./local-server.js";
import {
  buildCharge,
  buildDispute,
  buildEvent,
  buildInvoice,
  buildInvoicePayment,
  buildPaymentIntent,
  buildRefund,
  randomId,
} from "./stripe-objects.js";
import { thinTwinOf } from "./thin-events.js";

type Json = Record<string, unknown>;

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: URLSearchParams;
  idempotencyKey: string | null;
}

export class StripeStandIn extends LocalHttpServer {
  readonly sessions = new Map<string, Json>();
  readonly lineItems = new Map<string, Json[]>();
  readonly subscriptions = new Map<string, Json>();
  readonly paymentIntents = new Map<string, Json>();
  readonly charges = new Map<string, Json>();
  readonly invoices = new Map<string, Json>();
  /** Invoice id to its payments (`invoice_payment` objects). */
  readonly invoicePayments = new Map<string, Json[]>();
  readonly products = new Map<string, Json>();
  readonly webhookEndpoints: Json[] = [];
  readonly disputes = new Map<string, Json>();
  readonly events: Json[] = [];
  /** Thin events (`v2.core.event`), served by `GET /v2/core/events`. */
  readonly thinEvents: Json[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly faults = new FaultPlan();

  /** Served and refused API requests, for the flash-sale test and the bench. */
  readonly rate = { served: 0, limited: 0 };
  private limiter: { perSecond: number; tokens: number; at: number } | null = null;

  /**
   * `apiKey`: the only key it accepts, as Stripe accepts only the account's keys (default:
   * any test key). `requestsPerSecond`: an account-wide rate limit (see setRateLimit).
   */
  constructor(private readonly options: { apiKey?: string; requestsPerSecond?: number | null } = {}) {
    super();
    this.setRateLimit(options.requestsPerSecond ?? null);
  }

  /**
   * Limits every API request of the account to `perSecond`, as Stripe does (100/s live,
   * 25 in a sandbox): a token bucket holding one second of requests, where a refused
   * request costs no token and gets 429 with `Stripe-Rate-Limited-Reason: global-rate`.
   * Null lifts the limit.
   */
  setRateLimit(perSecond: number | null): void {
    this.limiter = perSecond ? { perSecond, tokens: perSecond, at: Date.now() } : null;
  }

  /** Whether the account has a request left this instant (and takes it). */
  private admit(): boolean {
    const l = this.limiter;
    if (!l) return true;
    const now = Date.now();
    l.tokens = Math.min(l.perSecond, l.tokens + ((now - l.at) / 1000) * l.perSecond);
    l.at = now;
    if (l.tokens < 1) return false;
    l.tokens -= 1;
    return true;
  }

  addCheckout(objects: {
    session: Json;
    lineItems?: Json[];
    subscription?: Json | null;
    event?: Json | null;
    thinEvent?: Json | null;
  }): void {
    const id = objects.session.id as string;
    this.sessions.set(id, objects.session);
    this.lineItems.set(id, objects.lineItems ?? []);
    if (objects.subscription) this.subscriptions.set(objects.subscription.id as string, objects.subscription);
    if (objects.event) this.events.push(objects.event);
    if (objects.thinEvent) this.thinEvents.push(objects.thinEvent);
    this.addPaymentFor(objects.session);
  }

  /**
   * The payment behind a session, as Stripe would hold it: a paid payment-mode session's
   * PaymentIntent and charge; a subscription's first invoice (zero for a trial), and when
   * paid its payment, PaymentIntent and charge. Nothing for an unpaid session's PaymentIntent
   * beyond `processing`.
   */
  private addPaymentFor(session: Json): void {
    const currency = (session.currency as string | null) ?? "usd";
    const amount = (session.amount_total as number | null) ?? 0;
    const livemode = session.livemode === true;
    const paid = session.payment_status === "paid";
    const intentId = typeof session.payment_intent === "string" ? session.payment_intent : null;
    if (session.mode === "payment" && intentId && !this.paymentIntents.has(intentId)) {
      const chargeId = paid ? randomId("ch") : null;
      this.paymentIntents.set(
        intentId,
        buildPaymentIntent(intentId, { amount, currency, chargeId, livemode }),
      );
      if (chargeId)
        this.charges.set(
          chargeId,
          buildCharge(chargeId, { paymentIntentId: intentId, amount, currency, livemode }),
        );
    }
    const invoiceId = typeof session.invoice === "string" ? session.invoice : null;
    if (session.mode === "subscription" && invoiceId && !this.invoices.has(invoiceId)) {
      this.addInvoice({
        id: invoiceId,
        subscriptionId: session.subscription as string,
        amountPaid: paid ? amount : 0,
        currency,
        livemode,
        billingReason: "subscription_create",
      });
    }
  }

  /**
   * Makes the change behind an after-sale event and records it in both styles, as Stripe
   * does for an account with a thin event destination (for `reconcile`); returns the
   * snapshot event, or with `thin` its thin twin.
   */
  afterSale(action: string, sessionId: string, options: { thin?: boolean } = {}): Json {
    const event = this.afterSaleEvent(action, sessionId);
    this.events.push(event);
    const thin = thinTwinOf(event);
    this.thinEvents.push(thin);
    return options.thin ? thin : event;
  }

  private afterSaleEvent(action: string, sessionId: string): Json {
    const livemode = this.sessions.get(sessionId)?.livemode === true;
    switch (action) {
      case "refund":
        return buildEvent({ type: "charge.refunded", object: this.refund(sessionId).charge, livemode });
      case "dispute":
        return buildEvent({
          type: "charge.dispute.created",
          object: this.dispute(sessionId).dispute,
          livemode,
        });
      case "convert-trial":
        return buildEvent({ type: "invoice.paid", object: this.convertTrial(sessionId).invoice, livemode });
      default:
        return buildEvent({
          type: "customer.subscription.deleted",
          object: this.cancelSubscription(sessionId),
          livemode,
        });
    }
  }

  /** A paid invoice of a subscription (with its PaymentIntent and charge when `amountPaid` > 0). */
  addInvoice(spec: {
    id?: string;
    subscriptionId: string;
    amountPaid: number;
    currency: string;
    livemode?: boolean;
    billingReason?: string;
  }): Json {
    const id = spec.id ?? randomId("in");
    const invoice = buildInvoice(id, spec);
    this.invoices.set(id, invoice);
    const payments: Json[] = [];
    if (spec.amountPaid > 0) {
      const intentId = randomId("pi");
      const chargeId = randomId("ch");
      const money = { amount: spec.amountPaid, currency: spec.currency, livemode: !!spec.livemode };
      this.paymentIntents.set(intentId, buildPaymentIntent(intentId, { ...money, chargeId }));
      this.charges.set(chargeId, buildCharge(chargeId, { ...money, paymentIntentId: intentId }));
      payments.push(buildInvoicePayment(id, { ...money, paymentIntentId: intentId }));
    }
    this.invoicePayments.set(id, payments);
    return invoice;
  }

  /** The charge that paid a session (through its PaymentIntent, or its subscription's first invoice). */
  chargeOfSession(sessionId: string): Json | null {
    const session = this.sessions.get(sessionId);
    if (!session) return null;
    let intentId = typeof session.payment_intent === "string" ? session.payment_intent : null;
    if (!intentId && typeof session.subscription === "string") {
      // The first invoice, or after a trial the subscription's first paid one.
      const invoices = [...this.invoices.values()].filter(
        (i) => ((i.parent as Json).subscription_details as Json).subscription === session.subscription,
      );
      const paid = invoices.map((i) => this.invoicePayments.get(i.id as string)?.[0]).find(Boolean);
      intentId = ((paid?.payment as Json | undefined)?.payment_intent as string | undefined) ?? null;
    }
    const chargeId = intentId ? (this.paymentIntents.get(intentId)?.latest_charge as string | null) : null;
    return chargeId ? (this.charges.get(chargeId) ?? null) : null;
  }

  /** Refunds `amount` (default: what is left) of a session's charge, as the Dashboard would. */
  refund(sessionId: string, amount?: number): { charge: Json; refund: Json } {
    const charge = this.chargeOfSession(sessionId);
    if (!charge) throw new Error(`no charge behind session ${sessionId}`);
    const left = (charge.amount as number) - (charge.amount_refunded as number);
    const value = Math.min(amount ?? left, left);
    charge.amount_refunded = (charge.amount_refunded as number) + value;
    charge.refunded = charge.amount_refunded === charge.amount;
    const refund = buildRefund({
      chargeId: charge.id as string,
      paymentIntentId: charge.payment_intent as string,
      amount: value,
      currency: charge.currency as string,
    });
    return { charge, refund };
  }

  /** Opens a dispute on a session's charge. */
  dispute(sessionId: string): { charge: Json; dispute: Json } {
    const charge = this.chargeOfSession(sessionId);
    if (!charge) throw new Error(`no charge behind session ${sessionId}`);
    charge.disputed = true;
    const dispute = buildDispute({
      chargeId: charge.id as string,
      paymentIntentId: charge.payment_intent as string,
      amount: charge.amount as number,
      currency: charge.currency as string,
      livemode: charge.livemode === true,
    });
    this.disputes.set(dispute.id as string, dispute);
    return { charge, dispute };
  }

  /** The trial ends and the subscription's first invoice is paid (the session's amount). */
  convertTrial(sessionId: string): { invoice: Json; subscription: Json } {
    const session = this.sessions.get(sessionId);
    const subscription = session ? this.subscriptions.get(session.subscription as string) : undefined;
    if (!session || !subscription) throw new Error(`no subscription behind session ${sessionId}`);
    const invoice = this.addInvoice({
      subscriptionId: subscription.id as string,
      amountPaid: (session.amount_total as number | null) || 1,
      currency: (session.currency as string | null) ?? "usd",
      livemode: session.livemode === true,
      billingReason: "subscription_cycle",
    });
    Object.assign(subscription, {
      status: "active",
      trial_end: Math.floor(Date.now() / 1000),
      latest_invoice: invoice.id,
    });
    return { invoice, subscription };
  }

  /** The subscription behind a session is cancelled. */
  cancelSubscription(sessionId: string): Json {
    const session = this.sessions.get(sessionId);
    const subscription = session ? this.subscriptions.get(session.subscription as string) : undefined;
    if (!subscription) throw new Error(`no subscription behind session ${sessionId}`);
    Object.assign(subscription, { status: "canceled", canceled_at: Math.floor(Date.now() / 1000) });
    return subscription;
  }

  addFault(fault: Fault): void {
    this.faults.add(fault);
  }

  /** Requests seen whose "METHOD /path" contains `match`. */
  count(match = ""): number {
    return this.requests.filter((r) => `${r.method} ${r.path}`.includes(match)).length;
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const raw = body.toString("utf8");
    const method = req.method ?? "GET";
    if (url.pathname === "/__local/checkout" && method === "POST") {
      this.addCheckout(JSON.parse(raw) as Parameters<StripeStandIn["addCheckout"]>[0]);
      return send(res, 200, { ok: true });
    }
    // What happens after checkout, for `send-test-event --type refund|dispute|trial-converts|trial-cancelled`:
    // the change is made as Stripe would make it, and its event recorded (for `reconcile`) and returned.
    const local = /^\/__local\/(refund|dispute|convert-trial|cancel-subscription)$/.exec(url.pathname);
    if (local && method === "POST") {
      const { session, thin } = JSON.parse(raw) as { session: string; thin?: boolean };
      try {
        return send(res, 200, this.afterSale(local[1]!, session, { thin: thin === true }));
      } catch (err) {
        return send(res, 404, stripeError("invalid_request_error", (err as Error).message));
      }
    }
    this.requests.push({
      method,
      path: url.pathname,
      query: url.searchParams,
      body: new URLSearchParams(raw),
      idempotencyKey:
        typeof req.headers["idempotency-key"] === "string" ? req.headers["idempotency-key"] : null,
    });
    const authorization = req.headers.authorization ?? "";
    const keyAccepted = this.options.apiKey
      ? authorization === `Bearer ${this.options.apiKey}`
      : /^Bearer (sk|rk)_(test|live)_/.test(authorization);
    if (!keyAccepted) {
      const shown = authorization.replace(/^Bearer /, "").slice(0, 8);
      return send(res, 401, stripeError("invalid_request_error", `Invalid API Key provided: ${shown}***`));
    }
    if (!this.admit()) {
      this.rate.limited += 1;
      return sendJson(
        res,
        429,
        {
          error: {
            type: "invalid_request_error",
            code: "rate_limit",
            message:
              "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
          },
        },
        { "request-id": `req_local${Date.now()}`, "stripe-rate-limited-reason": "global-rate" },
      );
    }
    this.rate.served += 1;
    const fault = this.faults.take(method, url.pathname);
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.hang) return; // never answer
    if (fault?.status) {
      const type =
        fault.status === 429
          ? "rate_limit_error"
          : fault.status >= 500
            ? "api_error"
            : "invalid_request_error";
      return send(res, fault.status, stripeError(type, fault.message ?? `injected ${fault.status}`));
    }
    this.route(method, url, new URLSearchParams(raw), res);
  }

  /**
   * What a session read expands, as Stripe expands it: `line_items` (includable, its
   * first page of 10 with `has_more`; `line_items.data.price.product` with products),
   * `payment_intent` (`.latest_charge`), `subscription`, and `invoice` (`.payments`,
   * includable). An expanded field that is null stays null.
   */
  private expandSession(session: Json, expand: string[]): Json {
    const has = (field: string) => expand.some((e) => e === field || e.startsWith(`${field}.`));
    const out: Json = { ...session };
    const id = session.id as string;
    if (has("line_items")) {
      const items = (this.lineItems.get(id) ?? []).map((item) =>
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
      const intent = this.paymentIntents.get(session.payment_intent);
      if (intent) {
        const charge = expand.includes("payment_intent.latest_charge")
          ? this.charges.get(intent.latest_charge as string)
          : undefined;
        out.payment_intent = charge ? { ...intent, latest_charge: charge } : intent;
      }
    }
    if (has("subscription") && typeof session.subscription === "string")
      out.subscription = this.subscriptions.get(session.subscription) ?? session.subscription;
    if (has("invoice") && typeof session.invoice === "string") {
      const invoice = this.invoices.get(session.invoice);
      if (invoice)
        out.invoice = expand.includes("invoice.payments")
          ? {
              ...invoice,
              payments: {
                object: "list",
                data: this.invoicePayments.get(session.invoice) ?? [],
                has_more: false,
                url: `/v1/invoice_payments?invoice=${session.invoice}`,
              },
            }
          : invoice;
    }
    return out;
  }

  private expandIntent(payment: Json): Json {
    const inner = payment.payment as Json;
    const intent = this.paymentIntents.get(inner.payment_intent as string);
    return intent ? { ...payment, payment: { ...inner, payment_intent: intent } } : payment;
  }

  private route(method: string, url: URL, body: URLSearchParams, res: http.ServerResponse): void {
    let m: RegExpExecArray | null;
    const limit = url.searchParams.get("limit");
    if (limit !== null && !(Number(limit) >= 1 && Number(limit) <= 100)) {
      return send(res, 400, {
        error: {
          type: "invalid_request_error",
          param: "limit",
          message: "This value must be less than or equal to 100 (it currently is '" + limit + "').",
        },
      });
    }
    const expand = [...url.searchParams.entries()].filter(([k]) => k.startsWith("expand")).map(([, v]) => v);
    if (method === "GET" && (m = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(url.pathname))) {
      const session = this.sessions.get(decodeURIComponent(m[1]!));
      if (!session) return send(res, 404, missing("checkout.session", m[1]!));
      const shaped = expand.includes("shipping_cost.shipping_rate") ? session : collapseShippingRate(session);
      return send(res, 200, this.expandSession(shaped, expand));
    }
    if (method === "GET" && (m = /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/.exec(url.pathname))) {
      const id = decodeURIComponent(m[1]!);
      const items = this.lineItems.get(id);
      if (!items) return send(res, 404, missing("checkout.session", id));
      const shaped = items.map((item) =>
        expand.includes("data.price.product") ? item : collapseProduct(item),
      );
      return send(res, 200, page(shaped, url, `/v1/checkout/sessions/${id}/line_items`));
    }
    if (
      (method === "GET" || method === "POST") &&
      (m = /^\/v1\/subscriptions\/([^/]+)$/.exec(url.pathname))
    ) {
      const subscription = this.subscriptions.get(decodeURIComponent(m[1]!));
      if (!subscription) return send(res, 404, missing("subscription", m[1]!));
      if (method === "POST") {
        const metadata = { ...((subscription.metadata as Record<string, string>) ?? {}) };
        for (const [key, value] of body.entries()) {
          const k = /^metadata\[(.+)\]$/.exec(key);
          if (k?.[1]) metadata[k[1]] = value;
        }
        subscription.metadata = metadata;
      }
      return send(res, 200, subscription);
    }
    if (method === "GET" && (m = /^\/v1\/products\/([^/]+)$/.exec(url.pathname))) {
      const product = this.products.get(decodeURIComponent(m[1]!));
      if (!product) return send(res, 404, missing("product", m[1]!));
      return send(res, 200, product);
    }
    if (method === "GET" && url.pathname === "/v1/webhook_endpoints") {
      return send(res, 200, page(this.webhookEndpoints, url, "/v1/webhook_endpoints"));
    }
    if (
      (method === "GET" || method === "POST") &&
      (m = /^\/v1\/payment_intents\/([^/]+)$/.exec(url.pathname))
    ) {
      const intent = this.paymentIntents.get(decodeURIComponent(m[1]!));
      if (!intent) return send(res, 404, missing("payment_intent", m[1]!));
      if (method === "POST") {
        // What the dispatch writes: shipping[name|carrier|tracking_number|address][…].
        const shipping = formObject(body, "shipping");
        if (shipping) intent.shipping = { ...(intent.shipping ?? {}), ...shipping };
        return send(res, 200, intent);
      }
      const charge = expand.includes("latest_charge")
        ? this.charges.get(intent.latest_charge as string)
        : undefined;
      return send(res, 200, charge ? { ...intent, latest_charge: charge } : intent);
    }
    if (method === "GET" && (m = /^\/v1\/charges\/([^/]+)$/.exec(url.pathname))) {
      const charge = this.charges.get(decodeURIComponent(m[1]!));
      if (!charge) return send(res, 404, missing("charge", m[1]!));
      return send(res, 200, charge);
    }
    if ((method === "GET" || method === "POST") && (m = /^\/v1\/disputes\/([^/]+)$/.exec(url.pathname))) {
      const dispute = this.disputes.get(decodeURIComponent(m[1]!));
      if (!dispute) return send(res, 404, missing("dispute", m[1]!));
      if (method === "POST") {
        const evidence = formObject(body, "evidence");
        if (evidence) dispute.evidence = { ...(dispute.evidence ?? {}), ...evidence };
        if (body.get("submit") === "true") dispute.status = "under_review";
      }
      return send(res, 200, dispute);
    }
    if (method === "GET" && (m = /^\/v1\/invoices\/([^/]+)$/.exec(url.pathname))) {
      const id = decodeURIComponent(m[1]!);
      const invoice = this.invoices.get(id);
      if (!invoice) return send(res, 404, missing("invoice", id));
      // `payments` is includable: present only when expanded.
      if (!expand.some((e) => e === "payments" || e.startsWith("payments."))) return send(res, 200, invoice);
      const withIntents = expand.includes("payments.data.payment.payment_intent");
      const payments = (this.invoicePayments.get(id) ?? []).map((p) =>
        withIntents ? this.expandIntent(p) : p,
      );
      return send(res, 200, {
        ...invoice,
        payments: {
          object: "list",
          data: payments,
          has_more: false,
          url: `/v1/invoice_payments?invoice=${id}`,
        },
      });
    }
    if (method === "GET" && url.pathname === "/v1/invoice_payments") {
      const invoice = url.searchParams.get("invoice");
      const intent = url.searchParams.get("payment[payment_intent]");
      const all = [...this.invoicePayments.values()].flat();
      const selected = all.filter(
        (p) =>
          (invoice === null || p.invoice === invoice) &&
          (intent === null || (p.payment as Json).payment_intent === intent),
      );
      return send(res, 200, page(selected, url, "/v1/invoice_payments"));
    }
    if (method === "GET" && url.pathname === "/v1/checkout/sessions") {
      const intent = url.searchParams.get("payment_intent");
      const subscription = url.searchParams.get("subscription");
      const selected = [...this.sessions.values()].filter(
        (s) =>
          (intent === null || s.payment_intent === intent) &&
          (subscription === null || s.subscription === subscription),
      );
      return send(res, 200, page(selected.map(collapseShippingRate), url, "/v1/checkout/sessions"));
    }
    if (method === "GET" && url.pathname === "/v1/events") {
      const types = [...url.searchParams.entries()]
        .filter(([k]) => k === "type" || k.startsWith("types"))
        .map(([, v]) => v);
      const gte = Number(url.searchParams.get("created[gte]") ?? -Infinity);
      const lte = Number(url.searchParams.get("created[lte]") ?? Infinity);
      const selected = this.events
        .filter((e) => (types.length ? types.includes(e.type as string) : true))
        .filter((e) => (e.created as number) >= gte && (e.created as number) <= lte)
        .sort((a, b) => (b.created as number) - (a.created as number));
      return send(res, 200, page(selected, url, "/v1/events"));
    }
    if (method === "GET" && url.pathname === "/v2/core/events")
      return send(res, 200, this.listThinEvents(url));
    send(
      res,
      404,
      stripeError("invalid_request_error", `Unrecognized request URL (${method}: ${url.pathname})`),
    );
  }

  /**
   * `GET /v2/core/events` as the v2 API answers it: `types` (repeated or indexed),
   * `created[gte|lte]` as RFC 3339 times, newest first, and a `page` token in
   * `next_page_url` rather than v1's `starting_after`.
   */
  private listThinEvents(url: URL): Json {
    const types = [...url.searchParams.entries()]
      .filter(([k]) => /^types(\[\d*\])?$/.test(k))
      .map(([, v]) => v);
    const bound = (key: string, fallback: number) => {
      const value = url.searchParams.get(`created[${key}]`);
      return value === null ? fallback : Date.parse(value);
    };
    const gte = bound("gte", -Infinity);
    const lte = bound("lte", Infinity);
    const selected = this.thinEvents
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
    return { data, next_page_url: next, previous_page_url: null };
  }
}

/** `prefix[a]=1&prefix[b][c]=2` as {a: "1", b: {c: "2"}}: Stripe's form encoding of a nested object. */
function formObject(body: URLSearchParams, prefix: string): Json | null {
  let out: Json | null = null;
  for (const [key, value] of body.entries()) {
    if (!key.startsWith(`${prefix}[`)) continue;
    const path = [...key.slice(prefix.length).matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]!);
    out ??= {};
    let node = out;
    for (const part of path.slice(0, -1)) node = (node[part] ??= {}) as Json;
    node[path.at(-1)!] = value;
  }
  return out;
}

function page(items: Json[], url: URL, path: string): Json {
  const limit = Math.min(Number(url.searchParams.get("limit") ?? 10), 100);
  const after = url.searchParams.get("starting_after");
  const start = after ? items.findIndex((i) => i.id === after) + 1 : 0;
  const data = items.slice(start, start + limit);
  return { object: "list", data, has_more: start + limit < items.length, url: path };
}

/** Stripe sends an id where an object is not expanded. */
function collapseShippingRate(session: Json): Json {
  const cost = session.shipping_cost as Json | null | undefined;
  const rate = cost?.shipping_rate as Json | string | null | undefined;
  if (!cost || !rate || typeof rate !== "object") return session;
  return { ...session, shipping_cost: { ...cost, shipping_rate: rate.id } };
}

function collapseProduct(item: Json): Json {
  const price = item.price as Json | undefined;
  const product = price?.product as Json | string | undefined;
  if (!price || typeof product !== "object") return item;
  return { ...item, price: { ...price, product: product.id } };
}

function stripeError(type: string, message: string): Json {
  return { error: { type, message } };
}

function missing(kind: string, id: string): Json {
  return {
    error: {
      type: "invalid_request_error",
      code: "resource_missing",
      param: "id",
      message: `No such ${kind}: '${id}'`,
    },
  };
}

function send(res: http.ServerResponse, status: number, body: Json): void {
  sendJson(res, status, body, { "request-id": `req_local${Date.now()}` });
}
