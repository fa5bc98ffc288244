import { Command, InvalidArgumentError, Option } from "commander";
import Stripe from "stripe";
import {
  buildEvent,
  buildLineItems,
  buildSession,
  buildSubscription,
  DEMO_COVER_LINE,
  DEMO_ORDER,
  DEMO_SCALE_LINE,
  type SessionSpec,
} from "../../local/stripe/objects.js";
import { thinTwinOf } from "../../local/stripe/thin-events.js";
import { LOCAL } from "../../local/defaults.js";
import type { Env } from "../../common/config.js";
import { createSecretManagerClient, resolveSecrets, type SecretAccessor } from "../../common/secrets.js";
import { UsageError } from "../output.js";
import type { LocalStackState } from "../../local/state-file.js";

export const SCENARIOS = {
  paid: { type: "checkout.session.completed", spec: {} },
  unpaid: { type: "checkout.session.completed", spec: { paymentStatus: "unpaid" } },
  "async-succeeded": { type: "checkout.session.async_payment_succeeded", spec: {} },
  "async-failed": { type: "checkout.session.async_payment_failed", spec: { paymentStatus: "unpaid" } },
  subscription: { type: "checkout.session.completed", spec: { mode: "subscription" } },
  trial: {
    type: "checkout.session.completed",
    spec: { mode: "subscription", paymentStatus: "no_payment_required" },
  },
  setup: { type: "checkout.session.completed", spec: { mode: "setup" } },
} as const satisfies Record<string, { type: string; spec: SessionSpec }>;

/**
 * What happens after checkout to an order already sent (`--session`), made in the local
 * Stripe stand-in as Stripe would make it; the stand-in returns the event to post.
 */
export const AFTER_SALE_SCENARIOS = {
  refund: "refund",
  dispute: "dispute",
  "trial-converts": "convert-trial",
  "trial-cancelled": "cancel-subscription",
} as const;

export type Scenario = keyof typeof SCENARIOS;
export type AfterSaleScenario = keyof typeof AFTER_SALE_SCENARIOS;

/** Makes the after-sale change in the local stand-in and posts its signed event. */
export async function sendAfterSaleEvent(
  options: {
    url: string;
    secret: string;
    scenario: AfterSaleScenario;
    sessionId: string;
    stripeAdmin: string;
    /** Post the thin event (`v2.core.event`) instead of the snapshot one. */
    thin?: boolean;
  },
  print: (line: string) => void = () => {},
): Promise<SentEvent> {
  const response = await fetch(`${options.stripeAdmin}/__local/${AFTER_SALE_SCENARIOS[options.scenario]}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ session: options.sessionId, thin: options.thin === true }),
  }).catch((err: unknown) => {
    throw new Error(
      `cannot reach the local Stripe stand-in at ${options.stripeAdmin} (is \`npm start\` running?): ${String(err)}`,
    );
  });
  const body = (await response.json()) as Record<string, unknown> & { error?: { message?: string } };
  if (!response.ok)
    throw new UsageError(`the local Stripe stand-in refused: ${body.error?.message ?? response.status}`);
  const payload = JSON.stringify(body, null, 2);
  const answer = await postSignedEvent(options.url, payload, options.secret);
  print(
    `${body.id as string} ${body.type as string} session=${options.sessionId} -> ${answer.status} ${await answer.text()}`,
  );
  return {
    event_id: body.id as string,
    session_id: options.sessionId,
    type: body.type as string,
    statuses: [answer.status],
  };
}

export interface SendOptions {
  url: string;
  secret: string;
  scenario: Scenario;
  scale: boolean;
  count: number;
  duplicates: number;
  /** The local Stripe stand-in to register the session with, or null. */
  stripeAdmin: string | null;
  /** Post thin events (`v2.core.event`, type `v1.…`) as a thin event destination receives them. */
  thin?: boolean;
}

export interface SentEvent {
  event_id: string;
  session_id: string;
  type: string;
  /** One status per delivery (none with `duplicates: 0`: registered, not posted). */
  statuses: number[];
  /** The signed body, for posting it again. */
  payload?: string;
}

/** Posts `payload` to a receiver signed at send time, as Stripe signs each delivery attempt. */
export function postSignedEvent(
  url: string,
  payload: string,
  secret: string,
  init: { signal?: AbortSignal } = {},
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "stripe-signature": Stripe.webhooks.generateTestHeaderString({ payload, secret }),
    },
    body: payload,
    ...init,
  });
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new InvalidArgumentError("must be a whole number from 1 to 10000");
  return n;
}

/** Builds, registers (locally) and posts signed events; returns what was sent and the answers. */
export async function sendTestEvents(
  options: SendOptions,
  print: (line: string) => void = () => {},
): Promise<SentEvent[]> {
  const scenario = SCENARIOS[options.scenario];
  const sent: SentEvent[] = [];
  for (let i = 0; i < options.count; i++) {
    // The demo order (docs/EMAILS.md's first sample); its shipping rate only in payment
    // mode, the one-off payment the sample is (scenarios that name a mode are not).
    const spec: SessionSpec = {
      ...DEMO_ORDER,
      shippingCost: "mode" in scenario.spec ? 0 : DEMO_ORDER.shippingCost,
      ...scenario.spec,
      lines: options.scale ? [DEMO_SCALE_LINE, DEMO_COVER_LINE] : [DEMO_COVER_LINE],
    };
    const session = buildSession(spec);
    const lineItems = buildLineItems(spec);
    const subscription =
      session.mode === "subscription"
        ? buildSubscription(session.subscription as string, {
            trialEnd:
              session.payment_status === "no_payment_required"
                ? Math.floor(Date.now() / 1000) + 14 * 86_400
                : null,
          })
        : null;
    const snapshot = buildEvent({ type: scenario.type, object: session });
    // Stripe records the change in both styles where a thin destination listens.
    const thinEvent = thinTwinOf(snapshot);
    const event = options.thin ? thinEvent : snapshot;
    if (options.stripeAdmin) {
      const response = await fetch(`${options.stripeAdmin}/__local/checkout`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ session, lineItems, subscription, event: snapshot, thinEvent }),
      }).catch((err: unknown) => {
        throw new Error(
          `cannot reach the local Stripe stand-in at ${options.stripeAdmin} (is \`npm start\` running?): ${String(err)}`,
        );
      });
      if (!response.ok) throw new Error(`the local Stripe stand-in refused the session: ${response.status}`);
    }
    const payload = JSON.stringify(event, null, 2);
    const statuses: number[] = [];
    for (let d = 0; d < options.duplicates; d++) {
      const response = await postSignedEvent(options.url, payload, options.secret);
      const body = await response.text();
      statuses.push(response.status);
      print(
        `${event.id as string} ${event.type as string} session=${session.id as string} -> ${response.status} ${body}`,
      );
    }
    sent.push({
      event_id: event.id as string,
      session_id: session.id as string,
      type: event.type as string,
      statuses,
      payload,
    });
  }
  return sent;
}

/**
 * The secret to sign with: `--secret`, else `STRIPE_WEBHOOK_SECRET` (its first entry),
 * else the local stack's. An `sm://` reference is read from Secret Manager, as every
 * other command and service reads it.
 */
export async function resolveSigningSecret(
  option: string | undefined,
  env: Env,
  createClient: () => SecretAccessor | Promise<SecretAccessor> = createSecretManagerClient,
): Promise<string> {
  const value = option ?? env.STRIPE_WEBHOOK_SECRET;
  if (!value?.trim()) return LOCAL.webhookSecret;
  const resolved = await resolveSecrets(
    "send-test-event",
    { GOOGLE_CLOUD_PROJECT: env.GOOGLE_CLOUD_PROJECT, STRIPE_WEBHOOK_SECRET: value },
    createClient,
  );
  const first = resolved.STRIPE_WEBHOOK_SECRET?.split(",")[0]?.trim();
  if (!first?.startsWith("whsec_"))
    throw new UsageError("the signing secret must be a webhook signing secret (whsec_…)");
  return first;
}

export function sendTestEventCommand(env: NodeJS.ProcessEnv, local: LocalStackState | null = null): Command {
  return new Command("send-test-event")
    .description("Post correctly signed, realistic Stripe events to a receiver (default: the local stack's).")
    .option(
      "--url <url>",
      "receiver webhook URL",
      `${local?.urls.receiver ?? `http://127.0.0.1:${LOCAL.ports.receiver}`}/webhooks/stripe`,
    )
    .option("--secret <whsec>", "signing secret (default: STRIPE_WEBHOOK_SECRET, else the local stack's)")
    .addOption(
      new Option("--type <scenario>", "what kind of checkout, or what happens after it (with --session)")
        .choices([...Object.keys(SCENARIOS), ...Object.keys(AFTER_SALE_SCENARIOS)])
        .default("paid"),
    )
    .option(
      "--session <id>",
      "for refund, dispute, trial-converts, trial-cancelled: the order (Checkout Session id) it happens to",
    )
    .option("--no-scale", "leave the shipped product (the scale) out of the order")
    .option("--count <n>", "how many distinct orders", positiveInt, 1)
    .option("--duplicates <n>", "deliveries of each event (Stripe retries)", positiveInt, 1)
    .option(
      "--stripe-admin <url>",
      "local Stripe stand-in to register sessions with",
      local?.urls.stripe ?? `http://127.0.0.1:${LOCAL.ports.stripe}`,
    )
    .option("--no-register", "do not register the session (a real Stripe account serves it)")
    .option(
      "--thin",
      "post thin events (object v2.core.event, type v1.…), as a thin event destination receives them",
    )
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  npm run cli -- send-test-event\n  npm run cli -- send-test-event --type unpaid --count 5 --duplicates 3\n" +
        "  npm run cli -- send-test-event --thin                                    # a thin event: one email, as the snapshot\n" +
        "  npm run cli -- send-test-event --url https://receiver-xyz.a.run.app/webhooks/stripe --secret whsec_... --no-register\n" +
        "\nAfter checkout (local stack only: the stand-in makes the change, as Stripe would):\n" +
        "  npm run cli -- send-test-event --type refund --session cs_test_...      # a STOP SHIPMENT lands in .outbox/\n" +
        "  npm run cli -- send-test-event --type dispute --session cs_test_...\n" +
        "  npm run cli -- send-test-event --type trial                              # waits with FULFIL_TRIALS=false\n" +
        "  npm run cli -- send-test-event --type trial-converts --session cs_test_...\n",
    )
    .action(async (opts: Record<string, unknown>) => {
      if ((opts.type as string) in AFTER_SALE_SCENARIOS) {
        if (!opts.session)
          throw new UsageError(`--type ${opts.type as string} needs --session: the order it happens to`);
        if (!opts.register)
          throw new UsageError(
            `--type ${opts.type as string} changes the charge in the local Stripe stand-in; against a real account, do it in the Dashboard`,
          );
        const sent = await sendAfterSaleEvent(
          {
            url: opts.url as string,
            secret: await resolveSigningSecret(opts.secret as string | undefined, env),
            scenario: opts.type as AfterSaleScenario,
            sessionId: opts.session as string,
            stripeAdmin: opts.stripeAdmin as string,
            thin: opts.thin === true,
          },
          opts.json ? undefined : (line) => console.log(line),
        );
        if (opts.json) console.log(JSON.stringify([sent], null, 2));
        if (sent.statuses[0] !== 200) {
          console.error("the event was not accepted with 200");
          process.exitCode = 1;
        }
        return;
      }
      if (opts.session)
        throw new UsageError("--session goes with --type refund, dispute, trial-converts or trial-cancelled");
      const sent = await sendTestEvents(
        {
          url: opts.url as string,
          secret: await resolveSigningSecret(opts.secret as string | undefined, env),
          scenario: opts.type as Scenario,
          scale: opts.scale as boolean,
          count: opts.count as number,
          duplicates: opts.duplicates as number,
          stripeAdmin: opts.register ? (opts.stripeAdmin as string) : null,
          thin: opts.thin === true,
        },
        opts.json ? undefined : (line) => console.log(line),
      );
      if (opts.json)
        console.log(
          JSON.stringify(
            sent.map(({ payload: _payload, ...row }) => row),
            null,
            2,
          ),
        );
      const failed = sent.filter((s) => s.statuses.some((code) => code !== 200));
      if (failed.length) {
        console.error(`${failed.length} event(s) were not accepted with 200`);
        process.exitCode = 1;
      } else if (!opts.json) {
        console.log(
          `sent ${sent.length} event(s), ${sent.length * (opts.duplicates as number)} deliveries, all answered 200`,
        );
      }
    });
}
