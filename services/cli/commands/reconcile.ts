import { Command } from "commander";
import type Stripe from "stripe";
import { eventAttributes, type StripeWebhookEvent } from "../../common/event.js";
import { errorMessage } from "../../common/errors.js";
import type { MessagePublisher } from "../../common/pubsub.js";
import {
  classifyEvent,
  handledThinEventTypes,
  isLiveKey,
  type Classification,
} from "../../fulfiller/classify-event.js";
import { afterSaleKind, findOrderForPayment } from "../../fulfiller/after-sale/after-sale.js";
import type { OrderRecord } from "../../fulfiller/claims/order-state.js";
import type { OrderStore, StripeCatalog } from "../../fulfiller/ports.js";
import {
  createStripeClient,
  mapStripeError,
  StripeApiCatalog,
} from "../../fulfiller/adapters/stripe-catalog.js";
import { remindReview } from "../../fulfiller/operator/review.js";
import { remindOverdueDispatch } from "../../fulfiller/delivery/record-dispatch.js";
import { createLogger } from "../../common/logger.js";
import { cliBudget, loadCliConfig } from "../config.js";
import { PipelineClients } from "../pipeline-clients.js";
import { parseSince } from "../output.js";

/** Every event type the fulfiller acts on (section 5a included). */
export const RECONCILED_TYPES = [
  "checkout.session.completed",
  "checkout.session.async_payment_succeeded",
  "checkout.session.async_payment_failed",
  "charge.refunded",
  "charge.dispute.created",
  "invoice.paid",
  "customer.subscription.deleted",
  "customer.deleted",
] as const;
const STRIPE_EVENT_RETENTION_MS = 30 * 24 * 3600 * 1000;

export type RepublishReason =
  | "missing"
  | "failed"
  | "stale_processing"
  | "now_paid"
  /** A shipped order's charge is refunded in full or disputed, and its stop notice never went. */
  | "notice_owed"
  /** A trial's subscription has a paid invoice and its order still waits. */
  | "trial_paid"
  /** A trial's subscription is cancelled and its order still waits. */
  | "trial_cancelled"
  /** A customer deleted in Stripe still has orders holding their details (DESIGN 5c). */
  | "customer_deleted";

export interface ReconcileResult {
  inWindow: number;
  /** `object_id`: what the event is about (a session, charge, invoice or subscription); `session_id`: the order. */
  republished: { event_id: string; session_id: string; object_id: string; why: RepublishReason }[];
  upToDate: number;
  ignored: number;
  failed: { event_id: string; error: string }[];
  warnings: string[];
}

/**
 * Where reconcile reads the window's events, newest first within each style:
 * `warn` reports what it could not read that the rest covers.
 */
export type EventSource = (
  window: { since: Date; until: Date },
  warn: (warning: string) => void,
) => AsyncIterable<StripeWebhookEvent>;

/**
 * The Stripe API, auto-paginated: snapshot events from `/v1/events`, then thin ones
 * from `/v2/core/events` (a thin event destination's `v1.…` types). Stripe records a
 * v1 event for every change whatever the destinations' style, so the snapshot list
 * alone names every object; the thin list lets a thin-only deployment be replayed in
 * its own style, and a failure to read it is a warning, not a failed run.
 */
export function stripeEventSource(stripe: Stripe): EventSource {
  return async function* ({ since, until }, warn) {
    try {
      const list = stripe.events.list({
        types: [...RECONCILED_TYPES],
        created: { gte: Math.floor(since.getTime() / 1000), lte: Math.floor(until.getTime() / 1000) },
        limit: 100,
      });
      for await (const event of list) yield event as unknown as StripeWebhookEvent;
    } catch (err) {
      throw mapStripeError(err, "listing events");
    }
    try {
      // v2 takes RFC 3339 times where v1 takes seconds.
      const created = { gte: since.toISOString(), lte: until.toISOString() } as unknown as { gte: number };
      const thin = stripe.v2.core.events.list({ types: handledThinEventTypes(), created, limit: 100 });
      for await (const event of thin) yield event as unknown as StripeWebhookEvent;
    } catch (err) {
      warn(
        `could not list thin events (${mapStripeError(err, "listing thin events").message}); the snapshot events cover the same objects`,
      );
    }
  };
}

/**
 * Finds the window's qualifying events whose order is missing, failed, stuck in
 * processing past its lease, or awaiting payment while the session is now paid,
 * and republishes one event per such session with the receiver's attributes plus
 * `reconciled_at`. Idempotent: the fulfiller dedupes on the session.
 */
export async function reconcile(
  deps: {
    events: EventSource;
    store: OrderStore;
    stripe: StripeCatalog;
    publisher: MessagePublisher;
    liveKey: boolean;
    now?: () => Date;
  },
  options: { since: Date; until: Date; dryRun?: boolean },
): Promise<ReconcileResult> {
  const now = deps.now?.() ?? new Date();
  const result: ReconcileResult = {
    inWindow: 0,
    republished: [],
    upToDate: 0,
    ignored: 0,
    failed: [],
    warnings: [],
  };
  if (now.getTime() - options.since.getTime() > STRIPE_EVENT_RETENTION_MS) {
    result.warnings.push(
      `the window starts ${options.since.toISOString()}, more than 30 days ago: Stripe keeps events 30 days, so older ones cannot be recovered this way`,
    );
  }
  // Events come newest first: only the newest per object is considered.
  const seen = new Set<string>();
  for await (const event of deps.events(options, (warning) => result.warnings.push(warning))) {
    result.inWindow += 1;
    let what = classifyEvent(event, { liveKey: deps.liveKey });
    if (what.kind === "ignore") {
      result.ignored += 1;
      continue;
    }
    if (what.kind === "charge" && !what.chargeId && what.disputeId) {
      // A thin dispute names the dispute; its charge is the object both styles share.
      try {
        what = { ...what, chargeId: await deps.stripe.getDisputedCharge(what.disputeId, CALL) };
      } catch (err) {
        result.failed.push({ event_id: event.id, error: errorMessage(err) });
        continue;
      }
    }
    const objectId = objectOf(what);
    if (seen.has(objectId)) {
      result.upToDate += 1;
      continue;
    }
    seen.add(objectId);
    try {
      const found = await whyRepublish(deps, what, now);
      if (!found) {
        result.upToDate += 1;
        continue;
      }
      if (!options.dryRun) {
        const attributes = { ...eventAttributes(event, now.getTime()), reconciled_at: now.toISOString() };
        await deps.publisher.publish(Buffer.from(JSON.stringify(event)), attributes);
      }
      result.republished.push({
        event_id: event.id,
        session_id: found.sessionId,
        object_id: objectId,
        why: found.why,
      });
    } catch (err) {
      result.failed.push({ event_id: event.id, error: errorMessage(err) });
    }
  }
  return result;
}

function objectOf(what: Exclude<Classification, { kind: "ignore" }>): string {
  switch (what.kind) {
    case "checkout":
      return what.sessionId;
    case "charge":
      return what.chargeId ?? what.disputeId ?? "";
    case "invoice_paid":
      return what.invoiceId;
    case "subscription_deleted":
      return what.subscriptionId;
    case "customer_deleted":
      return what.customerId;
  }
}

const CALL = { timeoutMs: 20_000 };
const run = <T>(_what: string, call: (o: { timeoutMs: number }) => Promise<T>): Promise<T> => call(CALL);

async function waitingTrial(store: OrderStore, subscriptionId: string): Promise<OrderRecord | undefined> {
  return (await store.findBy("subscription_id", subscriptionId)).find(
    (o) => o.trial_conversion?.state === "awaiting",
  );
}

/** Whether the fulfiller has yet to act on what the event is about; the same rules it applies. */
async function whyRepublish(
  deps: { store: OrderStore; stripe: StripeCatalog },
  what: Exclude<Classification, { kind: "ignore" }>,
  now: Date,
): Promise<{ why: RepublishReason; sessionId: string } | null> {
  switch (what.kind) {
    case "checkout": {
      const why = await whyCheckout(deps, what.sessionId, now);
      return why ? { why, sessionId: what.sessionId } : null;
    }
    case "charge": {
      const chargeId = what.chargeId ?? (await deps.stripe.getDisputedCharge(what.disputeId ?? "", CALL));
      if (!chargeId) return null;
      const charge = await deps.stripe.getCharge(chargeId, CALL);
      const kind = afterSaleKind(charge);
      if (kind !== "refunded" && kind !== "disputed") return null;
      if (!charge.payment_intent_id) return null;
      const order = await findOrderForPayment(deps, charge.payment_intent_id, run);
      const owed =
        order &&
        order.email.state === "sent" &&
        order.status !== "needs_review" &&
        order.stop_notice?.state !== "sent";
      return owed ? { why: "notice_owed", sessionId: order.session_id } : null;
    }
    case "invoice_paid": {
      const invoice = await deps.stripe.getInvoice(what.invoiceId, CALL);
      if (invoice.status !== "paid" || invoice.amount_paid <= 0 || !invoice.subscription_id) return null;
      const order = await waitingTrial(deps.store, invoice.subscription_id);
      return order ? { why: "trial_paid", sessionId: order.session_id } : null;
    }
    case "customer_deleted": {
      const holding = (await deps.store.findBy("customer_id", what.customerId, 1000)).find(
        (o) => !o.redacted_at,
      );
      return holding ? { why: "customer_deleted", sessionId: holding.session_id } : null;
    }
    case "subscription_deleted": {
      const subscription = await deps.stripe.getSubscription(what.subscriptionId, CALL);
      if (subscription.status !== "canceled") return null;
      const order = await waitingTrial(deps.store, subscription.id);
      return order ? { why: "trial_cancelled", sessionId: order.session_id } : null;
    }
  }
}

async function whyCheckout(
  deps: { store: OrderStore; stripe: StripeCatalog },
  sessionId: string,
  now: Date,
): Promise<RepublishReason | null> {
  const order = await deps.store.get(sessionId);
  if (!order) return "missing";
  if (order.status === "failed") return "failed";
  if (order.status === "processing" && (order.lease_expires_at?.getTime() ?? 0) <= now.getTime())
    return "stale_processing";
  if (order.status === "awaiting_payment" && order.trial_conversion?.state !== "awaiting") {
    const session = await deps.stripe.getSession(sessionId, CALL);
    if (session.status === "complete" && session.payment_status === "paid") return "now_paid";
  }
  return null;
}

export function reconcileCommand(): Command {
  return new Command("reconcile")
    .description(
      "Republish events of a window that the pipeline has yet to act on: orders missing, failed, stale or now paid; stop notices owed; trials paid or cancelled.",
    )
    .requiredOption("--since <when>", "a duration back from now (6h, 3d) or an ISO 8601 timestamp")
    .option("--until <when>", "end of the window (default now)")
    .option("--dry-run", "report what would be republished; publish nothing")
    .option("--json", "print the result as JSON")
    .option("--verbose", "list every republished event")
    .addHelpText(
      "after",
      "\nExamples:\n  npm run cli -- reconcile --since 24h --dry-run\n  npm run cli -- reconcile --since 2026-11-20T00:00:00Z --until 2026-11-21T00:00:00Z\n\n" +
        "Idempotent and quiet when there is nothing to do: suitable for a schedule. Stripe keeps events 30 days.",
    )
    .action(
      async (opts: {
        since: string;
        until?: string;
        dryRun?: boolean;
        json?: boolean;
        verbose?: boolean;
      }) => {
        const since = parseSince(opts.since);
        const until = opts.until ? parseSince(opts.until) : new Date();
        if (since >= until) throw new Error("--since must be before --until");
        const config = await loadCliConfig(process.env, ["STRIPE_API_KEY"]);
        const clients = await PipelineClients.open(config, ["pubsub", "firestore"]);
        try {
          const stripe = createStripeClient({
            apiKey: config.STRIPE_API_KEY!,
            apiBase: config.STRIPE_API_BASE,
            timeoutMs: 20_000,
            budget: cliBudget(config),
          });
          const result = await reconcile(
            {
              events: stripeEventSource(stripe),
              store: clients.orders(),
              stripe: new StripeApiCatalog(stripe),
              publisher: clients.mainTopicPublisher(),
              liveKey: isLiveKey(config.STRIPE_API_KEY!),
            },
            { since, until, dryRun: opts.dryRun },
          );
          // Orders still in review are alerted again (on stderr, as structured lines the
          // job's log-based metric reads), so an alert lost to a crash comes back.
          const reminders = createLogger({ service: "reconcile", destination: process.stderr });
          const inReview = opts.dryRun ? [] : await remindReview(clients.orders(), reminders, new Date());
          // The warehouse's overdue confirmations, one alert line each (DESIGN 5b).
          const undispatched = opts.dryRun
            ? []
            : await remindOverdueDispatch(clients.orders(), reminders, new Date(), config.DISPATCH_SLA_HOURS);
          for (const w of result.warnings) console.error(`warning: ${w}`);
          if (opts.json) console.log(JSON.stringify({ ...result, inReview, undispatched }, null, 2));
          else {
            if (opts.verbose)
              for (const r of result.republished)
                console.log(
                  `${opts.dryRun ? "would republish" : "republished"} ${r.event_id} session=${r.session_id} (${r.why})`,
                );
            for (const f of result.failed) console.error(`FAILED ${f.event_id}: ${f.error}`);
            const by = (why: RepublishReason) => result.republished.filter((r) => r.why === why).length;
            console.log(
              `reconcile ${since.toISOString()}..${until.toISOString()}: ${result.inWindow} event(s), ` +
                `${opts.dryRun ? "would republish" : "republished"} ${result.republished.length} ` +
                `(missing ${by("missing")}, failed ${by("failed")}, stale ${by("stale_processing")}, now paid ${by("now_paid")}, ` +
                `stop notice owed ${by("notice_owed")}, trial paid ${by("trial_paid")}, trial cancelled ${by("trial_cancelled")}), ` +
                `${result.upToDate} up to date, ${result.ignored} ignored, ${result.failed.length} failed; ` +
                `${inReview.length} order(s) still in review, ${undispatched.length} not dispatched within ${config.DISPATCH_SLA_HOURS} h`,
            );
          }
          if (result.failed.length) process.exitCode = 1;
        } finally {
          await clients.close();
        }
      },
    );
}
