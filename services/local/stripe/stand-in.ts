/**
 * A local stand-in for the Stripe API calls this product makes, speaking Stripe's
 * wire format (form-encoded requests, JSON objects and lists, Stripe error bodies),
 * so the real stripe SDK can be pointed at it with host/port/protocol.
 */
import http from "node:http";
import { FaultPlan, type Fault } from "../fault-plan.js";
import { LocalHttpServer, sendJson } from "../local-server.js";
import { buildInvoice, buildInvoicePayment } from "./billing-objects.js";
import { buildEvent } from "./event-objects.js";
import { now, randomId, type Json } from "./ids.js";
import { buildCharge, buildDispute, buildPaymentIntent, buildRefund } from "./payment-objects.js";
import { serveRequest, type StripeState } from "./routes.js";
import { thinTwinOf } from "./thin-events.js";
import { faultError, RATE_LIMITED, stripeError } from "./wire.js";

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: URLSearchParams;
  idempotencyKey: string | null;
}

export class StripeStandIn extends LocalHttpServer implements StripeState {
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
      trial_end: now(),
      latest_invoice: invoice.id,
    });
    return { invoice, subscription };
  }

  /** The subscription behind a session is cancelled. */
  cancelSubscription(sessionId: string): Json {
    const session = this.sessions.get(sessionId);
    const subscription = session ? this.subscriptions.get(session.subscription as string) : undefined;
    if (!subscription) throw new Error(`no subscription behind session ${sessionId}`);
    Object.assign(subscription, { status: "canceled", canceled_at: now() });
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
      return sendJson(res, 429, RATE_LIMITED, {
        "request-id": `req_local${Date.now()}`,
        "stripe-rate-limited-reason": "global-rate",
      });
    }
    this.rate.served += 1;
    const fault = this.faults.take(method, url.pathname);
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.hang) return; // never answer
    if (fault?.status)
      return send(res, fault.status, faultError(fault.status, fault.message ?? `injected ${fault.status}`));
    const { status, body: answer } = serveRequest(this, method, url, new URLSearchParams(raw));
    send(res, status, answer);
  }
}

function send(res: http.ServerResponse, status: number, body: Json): void {
  sendJson(res, status, body, { "request-id": `req_local${Date.now()}` });
}
