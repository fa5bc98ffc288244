import { Command, Option } from "commander";
import { ORDER_STATUSES, type OrderRecord, type OrderStatus } from "../../fulfiller/order-state.js";
import type { OrderStore } from "../../fulfiller/ports.js";
import { Fulfiller, SUBSCRIPTION_MARKER } from "../../fulfiller/fulfil-order.js";
import { createStripeClient, StripeApiCatalog } from "../../fulfiller/adapters/stripe-catalog.js";
import { SendGridMailer } from "../../fulfiller/adapters/sendgrid-mailer.js";
import { resendUndelivered, ResendRefusedError } from "../../fulfiller/resend-undelivered.js";
import { isLiveKey } from "../../fulfiller/classify-event.js";
import { createLogger } from "../../common/logger.js";
import { loadCliConfig, requireSettings, type CliConfig } from "../config.js";
import { PipelineClients } from "../pipeline-clients.js";
import { table, UsageError } from "../output.js";

/** Operator confirmed in SendGrid's activity that the email went out: record it. */
export async function confirmSent(
  store: OrderStore,
  sessionId: string,
  operator: string,
): Promise<OrderRecord> {
  return store.transact(sessionId, (order, now) => {
    if (!order) throw new Error(`no order ${sessionId}`);
    if (order.status !== "needs_review")
      throw new Error(`order ${sessionId} is ${order.status}; only needs_review orders are resolved`);
    const reason = `operator confirmed the email was sent (${operator})`;
    const next: OrderRecord = {
      ...order,
      status: "fulfilled",
      reason,
      claim_id: null,
      lease_expires_at: null,
      email: {
        ...order.email,
        state: "sent",
        sent_at: order.email.started_at ?? now,
        by: "operator:confirmed",
      },
      updated_at: now,
      history: [...order.history, { at: now, status: "fulfilled" as const, reason, event_id: null }].slice(
        -20,
      ),
    };
    return { next, result: next };
  });
}

/** The fulfiller as the operator's tools drive it: the same send, claim and record code as a delivery. */
function operatorFulfiller(config: CliConfig, store: OrderStore): Fulfiller {
  return new Fulfiller({
    store,
    stripe: new StripeApiCatalog(
      createStripeClient({
        apiKey: config.STRIPE_API_KEY!,
        apiBase: config.STRIPE_API_BASE,
        timeoutMs: config.HANDLER_DEADLINE_MS,
      }),
    ),
    mailer: new SendGridMailer({ apiKey: config.SENDGRID_API_KEY ?? "", apiBase: config.SENDGRID_API_BASE }),
    deadLetter: {
      publish: () => Promise.reject(new Error("the CLI does not dead-letter")),
      close: () => Promise.resolve(),
    },
    settings: {
      liveKey: isLiveKey(config.STRIPE_API_KEY!),
      fulfilTrials: true,
      productIds: [],
      emailTo: config.FULFILMENT_EMAIL_TO,
      emailFrom: config.EMAIL_FROM ?? "",
      templateId: config.SENDGRID_TEMPLATE_ID,
      leaseMs: config.ORDER_LEASE_SECONDS * 1000,
      deadlineMs: config.HANDLER_DEADLINE_MS,
      deadLetterSource: "cli",
    },
  });
}

function reportMarker(
  sessionId: string,
  marker: OrderRecord["subscription_marker"] | null | undefined,
): void {
  if (marker?.state === "set") {
    console.log(`subscription of ${sessionId} marked ${SUBSCRIPTION_MARKER}=true`);
    return;
  }
  console.error(
    `could not mark the subscription of ${sessionId}: ${marker?.error ?? "unknown"}; set its metadata ${SUBSCRIPTION_MARKER}=true in Stripe by hand`,
  );
  process.exitCode = 1;
}

function summary(o: OrderRecord): Record<string, unknown> {
  return {
    session_id: o.session_id,
    status: o.status,
    email: o.email.state,
    delivery: o.email.delivery?.state ?? null,
    attempts: o.attempts,
    updated: o.updated_at.toISOString(),
    reason: o.reason,
  };
}

export function ordersCommand(): Command {
  const orders = new Command("orders").description(
    "Orders in Firestore: list, show, and resolve needs_review.",
  );

  orders
    .command("list")
    .description("List orders, newest first.")
    .addOption(new Option("--status <status>", "only this status").choices([...ORDER_STATUSES]))
    .option("--undelivered", "only orders whose email bounced or was dropped (SendGrid's Event Webhook)")
    .option("--limit <n>", "at most this many", (v) => Number(v), 100)
    .option("--json", "a JSON array for scripts")
    .addHelpText(
      "after",
      "\nExamples:\n  npm run cli -- orders list --status needs_review\n  npm run cli -- orders list --undelivered --json",
    )
    .action(async (opts: { status?: OrderStatus; undelivered?: boolean; limit: number; json?: boolean }) => {
      const clients = new PipelineClients(await loadCliConfig(process.env));
      try {
        const list = await clients
          .orders()
          .list({ status: opts.status, undelivered: !!opts.undelivered, limit: opts.limit });
        if (opts.json) console.log(JSON.stringify(list.map(summary), null, 2));
        else
          console.log(
            list.length
              ? table(list.map(summary), [
                  "session_id",
                  "status",
                  "email",
                  "delivery",
                  "attempts",
                  "updated",
                  "reason",
                ])
              : "no orders",
          );
      } finally {
        await clients.close();
      }
    });

  orders
    .command("show")
    .argument("<session_id>", "the Checkout Session id (the order's key)")
    .description("Show one order in full (it includes customer details).")
    .action(async (sessionId: string) => {
      const clients = new PipelineClients(await loadCliConfig(process.env));
      try {
        const order = await clients.orders().get(sessionId);
        if (!order) {
          console.error(`no order ${sessionId}`);
          process.exitCode = 1;
          return;
        }
        console.log(JSON.stringify(order, null, 2));
      } finally {
        await clients.close();
      }
    });

  orders
    .command("resolve")
    .argument("<session_id>", "a needs_review order")
    .description(
      "Resolve a needs_review order: --sent if SendGrid's activity shows the email went out, else --resend.",
    )
    .option("--sent", "record that the email did go out")
    .option("--resend", "send the email now, under a fresh claim (at most once)")
    .addHelpText(
      "after",
      "\nCheck SendGrid's Email Activity for the order id (custom_args.order_id = the session id) first.\n" +
        "Examples:\n  npm run cli -- orders resolve cs_live_... --sent\n  npm run cli -- orders resolve cs_live_... --resend",
    )
    .action(async (sessionId: string, opts: { sent?: boolean; resend?: boolean }) => {
      if (!!opts.sent === !!opts.resend) throw new UsageError("choose exactly one of --sent or --resend");
      const log = createLogger({ service: "cli", level: "warn" });
      const loaded = await loadCliConfig(process.env);
      const clients = new PipelineClients(loaded);
      try {
        const existing = await clients.orders().get(sessionId);
        // A subscription's marker is set on Stripe, as after an automatic send, so Stripe is needed too.
        const isSubscription = existing?.details?.mode === "subscription";
        const needs = [
          ...(opts.resend || isSubscription ? (["STRIPE_API_KEY"] as const) : []),
          ...(opts.resend ? (["SENDGRID_API_KEY", "EMAIL_FROM", "FULFILMENT_EMAIL_TO"] as const) : []),
        ];
        const config = requireSettings(loaded, needs);
        if (opts.sent) {
          const order = await confirmSent(clients.orders(), sessionId, process.env.USER ?? "operator");
          console.log(`order ${sessionId} is ${order.status}`);
          if (isSubscription) {
            const marker = await operatorFulfiller(config, clients.orders()).markSubscriptionShipped(
              sessionId,
              log,
            );
            reportMarker(sessionId, marker);
          }
          return;
        }
        const outcome = await operatorFulfiller(config, clients.orders()).resend(sessionId, log);
        console.log(`order ${sessionId}: ${outcome.result}${outcome.reason ? ` (${outcome.reason})` : ""}`);
        if (outcome.result !== "fulfilled") process.exitCode = 1;
        else if (isSubscription)
          reportMarker(sessionId, (await clients.orders().get(sessionId))?.subscription_marker);
      } finally {
        await clients.close();
      }
    });
  orders
    .command("resend")
    .argument("<session_id>", "a fulfilled order whose email bounced or was dropped")
    .description(
      "Send the order email once more after a bounce or drop (fix the address or suppression first).",
    )
    .option("--undelivered", "required: resend because the email was not delivered")
    .addHelpText(
      "after",
      "\nOnly for a fulfilled order whose delivery state is bounce or dropped (see `orders list --undelivered`).\n" +
        "A second run sends nothing unless the new email bounces too.\n" +
        "Example:\n  npm run cli -- orders resend cs_live_... --undelivered",
    )
    .action(async (sessionId: string, opts: { undelivered?: boolean }) => {
      if (!opts.undelivered) throw new UsageError("say why: --undelivered (the only reason to resend)");
      const config = requireSettings(await loadCliConfig(process.env), [
        "SENDGRID_API_KEY",
        "EMAIL_FROM",
        "FULFILMENT_EMAIL_TO",
      ]);
      const clients = new PipelineClients(config);
      try {
        const outcome = await resendUndelivered(sessionId, `operator:${process.env.USER ?? "unknown"}`, {
          store: clients.orders(),
          mailer: new SendGridMailer({ apiKey: config.SENDGRID_API_KEY!, apiBase: config.SENDGRID_API_BASE }),
          settings: {
            emailTo: config.FULFILMENT_EMAIL_TO,
            emailFrom: config.EMAIL_FROM!,
            templateId: config.SENDGRID_TEMPLATE_ID,
            deadlineMs: config.HANDLER_DEADLINE_MS,
          },
          log: createLogger({ service: "cli", level: "warn" }),
        });
        if (outcome.result === "resent") {
          console.log(
            `order ${sessionId}: email resent (SendGrid message id ${outcome.messageId ?? "unknown"})`,
          );
          return;
        }
        console.error(`order ${sessionId}: ${outcome.result}: ${outcome.reason ?? ""}`);
        process.exitCode = 1;
      } catch (err) {
        if (!(err instanceof ResendRefusedError)) throw err;
        console.error(`error: ${err.message}`);
        process.exitCode = 1;
      } finally {
        await clients.close();
      }
    });
  return orders;
}
