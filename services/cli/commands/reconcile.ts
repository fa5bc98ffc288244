import { Command } from "commander";
import type Stripe from "stripe";
import { eventAttributes, type StripeEventEnvelope } from "../../common/event.js";
import { errorMessage } from "../../common/errors.js";
import type { MessagePublisher } from "../../common/pubsub.js";
import { isLiveKey } from "../../fulfiller/classify-event.js";
import type { OrderStore, StripeCatalog } from "../../fulfiller/ports.js";
import {
  createStripeClient,
  mapStripeError,
  StripeApiCatalog,
} from "../../fulfiller/adapters/stripe-catalog.js";
import { loadCliConfig } from "../config.js";
import { PipelineClients } from "../pipeline-clients.js";
import { parseSince } from "../output.js";

export const RECONCILED_TYPES = [
  "checkout.session.completed",
  "checkout.session.async_payment_succeeded",
] as const;
const STRIPE_EVENT_RETENTION_MS = 30 * 24 * 3600 * 1000;

export type RepublishReason = "missing" | "failed" | "stale_processing" | "now_paid";

export interface ReconcileResult {
  inWindow: number;
  republished: { event_id: string; session_id: string; why: RepublishReason }[];
  upToDate: number;
  ignored: number;
  failed: { event_id: string; error: string }[];
  warnings: string[];
}

/** Where reconcile reads the window's events: the Stripe API, auto-paginated. */
export type EventSource = (window: { since: Date; until: Date }) => AsyncIterable<StripeEventEnvelope>;

export function stripeEventSource(stripe: Stripe): EventSource {
  return async function* ({ since, until }) {
    try {
      const list = stripe.events.list({
        types: [...RECONCILED_TYPES],
        created: { gte: Math.floor(since.getTime() / 1000), lte: Math.floor(until.getTime() / 1000) },
        limit: 100,
      });
      for await (const event of list) yield event as unknown as StripeEventEnvelope;
    } catch (err) {
      throw mapStripeError(err, "listing events");
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
  const seenSessions = new Set<string>();
  for await (const event of deps.events(options)) {
    result.inWindow += 1;
    const sessionId = event.data.object.id;
    if (typeof sessionId !== "string" || event.account || event.livemode !== deps.liveKey) {
      result.ignored += 1;
      continue;
    }
    if (seenSessions.has(sessionId)) {
      result.upToDate += 1; // newest event per session already considered
      continue;
    }
    seenSessions.add(sessionId);
    try {
      const why = await whyRepublish(deps, sessionId, now);
      if (!why) {
        result.upToDate += 1;
        continue;
      }
      if (!options.dryRun) {
        const attributes = { ...eventAttributes(event, now), reconciled_at: now.toISOString() };
        await deps.publisher.publish(Buffer.from(JSON.stringify(event)), attributes);
      }
      result.republished.push({ event_id: event.id, session_id: sessionId, why });
    } catch (err) {
      result.failed.push({ event_id: event.id, error: errorMessage(err) });
    }
  }
  return result;
}

async function whyRepublish(
  deps: { store: OrderStore; stripe: StripeCatalog },
  sessionId: string,
  now: Date,
): Promise<RepublishReason | null> {
  const order = await deps.store.get(sessionId);
  if (!order) return "missing";
  if (order.status === "failed") return "failed";
  if (order.status === "processing" && (order.lease_expires_at?.getTime() ?? 0) <= now.getTime())
    return "stale_processing";
  if (order.status === "awaiting_payment") {
    const session = await deps.stripe.getSession(sessionId, { timeoutMs: 20_000 });
    if (session.status === "complete" && session.payment_status === "paid") return "now_paid";
  }
  return null;
}

export function reconcileCommand(): Command {
  return new Command("reconcile")
    .description(
      "Republish Checkout events of a window whose orders are missing, failed, stale or now paid (after an outage).",
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
        const clients = new PipelineClients(config);
        try {
          const stripe = createStripeClient({
            apiKey: config.STRIPE_API_KEY!,
            apiBase: config.STRIPE_API_BASE,
            timeoutMs: 20_000,
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
          for (const w of result.warnings) console.error(`warning: ${w}`);
          if (opts.json) console.log(JSON.stringify(result, null, 2));
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
                `(missing ${by("missing")}, failed ${by("failed")}, stale ${by("stale_processing")}, now paid ${by("now_paid")}), ` +
                `${result.upToDate} up to date, ${result.ignored} ignored, ${result.failed.length} failed`,
            );
          }
          if (result.failed.length) process.exitCode = 1;
        } finally {
          await clients.close();
        }
      },
    );
}
