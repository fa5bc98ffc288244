import { Command, Option } from "commander";
import { ORDER_STATUSES, type OrderRecord, type OrderStatus } from "../../fulfiller/claims/order-state.js";
import type { OrderStore } from "../../fulfiller/ports.js";
import { Fulfiller, SUBSCRIPTION_MARKER } from "../../fulfiller/fulfil-order.js";
import { isLiveKey } from "../../fulfiller/classify-event.js";
import {
  confirmSentChange,
  emailInDoubt,
  OperatorRefusedError,
  reviewNote,
  type OperatorActions,
} from "../../fulfiller/operator/operator-actions.js";
import { formatAmount } from "../../fulfiller/email/currency.js";
import { createLogger } from "../../common/logger.js";
import { cliBudget, loadCliConfig, requireSettings, type CliConfig } from "../config.js";
import { isUndispatched } from "../../fulfiller/delivery/record-dispatch.js";
import { PipelineClients } from "../pipeline-clients.js";
import { table, UsageError, parseSince } from "../output.js";

/** Operator confirmed in SendGrid's activity that the email in doubt went out: record it. */
export async function confirmSent(
  store: OrderStore,
  sessionId: string,
  operator: string,
): Promise<OrderRecord> {
  return store.transact(sessionId, (order, now) => {
    const next = confirmSentChange(order, sessionId, operator, now);
    return { next, result: next };
  });
}

/**
 * Runs an operator's action on an order: a refusal (the order's state does not allow it;
 * nothing was changed) is exit 1 with its reason; the clients are closed either way.
 */
async function operatorAction(clients: PipelineClients, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (!(err instanceof OperatorRefusedError)) throw err;
    console.error(`error: ${err.message}`);
    process.exitCode = 1;
  } finally {
    await clients.close();
  }
}

/**
 * The operator's actions on the fulfiller: the same send, claim and record code as a
 * delivery. The Stripe and SendGrid SDKs are loaded here, by the commands that use them.
 */
async function operatorActions(config: CliConfig, store: OrderStore): Promise<OperatorActions> {
  const [{ createStripeClient, StripeApiCatalog }, { SendGridMailer }] = await Promise.all([
    import("../../fulfiller/adapters/stripe-catalog.js"),
    import("../../fulfiller/adapters/sendgrid-mailer.js"),
  ]);
  return new Fulfiller({
    store,
    stripe: new StripeApiCatalog(
      createStripeClient({
        apiKey: config.STRIPE_API_KEY!,
        apiBase: config.STRIPE_API_BASE,
        timeoutMs: config.HANDLER_DEADLINE_MS,
        budget: cliBudget(config),
      }),
    ),
    mailer: new SendGridMailer({ apiKey: config.SENDGRID_API_KEY ?? "", apiBase: config.SENDGRID_API_BASE }),
    deadLetter: {
      publish: () => Promise.reject(new Error("the CLI does not dead-letter")),
      close: () => Promise.resolve(),
    },
    settings: {
      liveKey: isLiveKey(config.STRIPE_API_KEY!),
      fulfilTrials: config.FULFIL_TRIALS,
      productIds: config.FULFILMENT_PRODUCT_IDS,
      optInField: config.FULFILMENT_OPT_IN_FIELD,
      emailTo: config.FULFILMENT_EMAIL_TO,
      emailFrom: config.EMAIL_FROM ?? "",
      templateId: config.SENDGRID_TEMPLATE_ID,
      leaseMs: config.ORDER_LEASE_SECONDS * 1000,
      deadlineMs: config.HANDLER_DEADLINE_MS,
      deadLetterSource: "cli",
    },
  }).operator;
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
    ...(o.stop_notice?.delivery ? { stop_notice_delivery: o.stop_notice.delivery.state } : {}),
    after_sale: o.after_sale ? `${o.after_sale.kind} (notice ${o.after_sale.notice})` : null,
    dispatch: o.dispatch ? `${o.dispatch.carrier} ${o.dispatch.tracking_number}` : null,
    attempts: o.attempts,
    updated: o.updated_at.toISOString(),
    reason: o.reason,
  };
}

export function ordersCommand(): Command {
  const orders = new Command("orders")
    .description(
      "Orders in Firestore: list, show, retry a decision, resolve needs_review, resend an undelivered email.",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  npm run cli -- orders list\n  npm run cli -- orders show cs_test_...\n" +
        "  npm run cli -- orders list --review          # what an operator must settle\n" +
        "  npm run cli -- orders list --undispatched    # what the warehouse has not confirmed",
    );

  orders
    .command("list")
    .description("List orders, newest first.")
    .addOption(new Option("--status <status>", "only this status").choices([...ORDER_STATUSES]))
    .option(
      "--undelivered",
      "only orders whose email or STOP SHIPMENT notice bounced or was dropped (SendGrid's Event Webhook)",
    )
    .option(
      "--review",
      "only needs_review orders, each with the email in doubt and what SendGrid said of it (none for an hour: probably not sent)",
    )
    .option(
      "--undispatched",
      "only fulfilled orders the warehouse has not confirmed as dispatched (its link in the order email)",
    )
    .option(
      "--older-than <duration>",
      "with --undispatched: emailed longer ago than this (48h, 3d; default: DISPATCH_SLA_HOURS, 48)",
    )
    .option("--limit <n>", "at most this many", (v) => Number(v), 100)
    .option("--json", "a JSON array for scripts")
    .addHelpText(
      "after",
      "\nExamples:\n  npm run cli -- orders list --review\n  npm run cli -- orders list --undelivered --json\n" +
        "  npm run cli -- orders list --undispatched --older-than 2d",
    )
    .action(
      async (opts: {
        status?: OrderStatus;
        undelivered?: boolean;
        review?: boolean;
        undispatched?: boolean;
        olderThan?: string;
        limit: number;
        json?: boolean;
      }) => {
        if (opts.review && opts.status && opts.status !== "needs_review")
          throw new UsageError("--review lists needs_review orders: leave out --status");
        if (opts.olderThan && !opts.undispatched)
          throw new UsageError("--older-than goes with --undispatched");
        if (opts.undispatched && opts.status && opts.status !== "fulfilled")
          throw new UsageError("--undispatched lists fulfilled orders: leave out --status");
        const config = await loadCliConfig(process.env);
        const now = new Date();
        const cutoff = opts.undispatched
          ? opts.olderThan
            ? parseSince(opts.olderThan)
            : new Date(now.getTime() - config.DISPATCH_SLA_HOURS * 3_600_000)
          : null;
        const clients = await PipelineClients.open(config, ["firestore"]);
        try {
          // Undispatched: the fulfilled orders, newest first, filtered here (Firestore cannot
          // query a missing field); a wide page so that --limit counts what is shown.
          const fetched = await clients.orders().list({
            status: opts.review ? "needs_review" : cutoff ? "fulfilled" : opts.status,
            undelivered: !!opts.undelivered,
            limit: cutoff ? Math.max(opts.limit * 10, 1000) : opts.limit,
          });
          const list = cutoff
            ? fetched.filter((o) => isUndispatched(o, cutoff)).slice(0, opts.limit)
            : fetched;
          const rows = list.map((o) => ({
            ...summary(o),
            ...(opts.review ? { in_doubt: reviewNote(o, now) } : {}),
            ...(cutoff ? { emailed: o.email.sent_at?.toISOString() ?? null } : {}),
          }));
          if (opts.json) console.log(JSON.stringify(rows, null, 2));
          else
            console.log(
              list.length
                ? table(rows, [
                    "session_id",
                    "status",
                    "email",
                    "delivery",
                    "after_sale",
                    ...(opts.review ? ["in_doubt"] : []),
                    ...(cutoff ? ["emailed"] : []),
                    "attempts",
                    "updated",
                    "reason",
                  ])
                : "no orders",
            );
        } finally {
          await clients.close();
        }
      },
    );

  orders
    .command("show")
    .argument("<session_id>", "the Checkout Session id (the order's key)")
    .description("Show one order in full (it includes customer details).")
    .addHelpText(
      "after",
      "\nExample:\n  npm run cli -- orders show cs_test_a1b2...   # the whole id, as orders list prints it",
    )
    .action(async (sessionId: string) => {
      const clients = await PipelineClients.open(await loadCliConfig(process.env), ["firestore"]);
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
      "Resolve a needs_review order: --sent if SendGrid's activity shows the email in doubt went out, else --resend.",
    )
    .option("--sent", "record that the email did go out")
    .option("--resend", "send the email now, under a fresh claim (at most once)")
    .addHelpText(
      "after",
      "\nThe email in doubt is the order email, or the STOP SHIPMENT notice when `orders show` has\n" +
        "stop_notice.state = sending (custom_args.email_kind = stop_notice).\n" +
        "Check SendGrid's Email Activity for the order id (custom_args.order_id = the session id) first.\n" +
        "--resend re-checks the payment before an order email: a refunded or disputed order is cancelled instead.\n" +
        "Examples:\n  npm run cli -- orders resolve cs_live_... --sent\n  npm run cli -- orders resolve cs_live_... --resend",
    )
    .action(async (sessionId: string, opts: { sent?: boolean; resend?: boolean }) => {
      if (!!opts.sent === !!opts.resend) throw new UsageError("choose exactly one of --sent or --resend");
      const log = createLogger({ service: "cli", level: "warn" });
      const loaded = await loadCliConfig(process.env);
      const clients = await PipelineClients.open(loaded, ["firestore"]);
      await operatorAction(clients, async () => {
        const existing = await clients.orders().get(sessionId);
        // A subscription's marker is set on Stripe, as after an automatic send, so Stripe is needed too.
        const isSubscription = existing?.details?.mode === "subscription";
        const doubt = existing?.status === "needs_review" ? emailInDoubt(existing) : "order";
        const needs = [
          ...(opts.resend || isSubscription ? (["STRIPE_API_KEY"] as const) : []),
          // A refund that arrived while in review is owed its stop notice once --sent settles the order email.
          ...(opts.resend || existing?.after_sale
            ? (["SENDGRID_API_KEY", "EMAIL_FROM", "FULFILMENT_EMAIL_TO"] as const)
            : []),
        ];
        const config = requireSettings(loaded, needs);
        if (opts.sent) {
          const order = await confirmSent(clients.orders(), sessionId, process.env.USER ?? "operator");
          console.log(
            `order ${sessionId} is ${order.status}${doubt === "stop_notice" ? " (stop notice recorded sent)" : doubt === "resend" ? " (resent email recorded sent)" : ""}`,
          );
          if (doubt === "order" && existing?.after_sale) {
            const owed = await (
              await operatorActions(config, clients.orders())
            ).sendOwedNotice(sessionId, log);
            if (owed) {
              console.log(
                `order ${sessionId}: ${existing.after_sale.kind} while in review: stop notice ${owed.result}`,
              );
              if (owed.result !== "stop_notice_sent") process.exitCode = 1;
            }
          }
          if (isSubscription && doubt === "order") {
            const marker = await (
              await operatorActions(config, clients.orders())
            ).markSubscriptionShipped(sessionId, log);
            reportMarker(sessionId, marker);
          }
          return;
        }
        const outcome = await (await operatorActions(config, clients.orders())).resend(sessionId, log);
        console.log(`order ${sessionId}: ${outcome.result}${outcome.reason ? ` (${outcome.reason})` : ""}`);
        if (
          outcome.result !== "fulfilled" &&
          outcome.result !== "stop_notice_sent" &&
          outcome.result !== "resent" &&
          outcome.result !== "cancelled"
        )
          process.exitCode = 1;
        else if (isSubscription && outcome.result === "fulfilled")
          reportMarker(sessionId, (await clients.orders().get(sessionId))?.subscription_marker);
      });
    });

  orders
    .command("retry")
    .argument("<session_id>", "a skipped, failed, payment_failed, cancelled or awaiting_payment order")
    .description(
      "Decide an order again from Stripe's current state, under a fresh claim, as a delivery would (e.g. after fixing FULFILMENT_PRODUCT_IDS).",
    )
    .option("--dry-run", "print the decision; change nothing, send nothing")
    .option("--json", "print the decision or outcome as JSON")
    .addHelpText(
      "after",
      "\nIt decides with this environment's FULFILMENT_PRODUCT_IDS, FULFILMENT_OPT_IN_FIELD and FULFIL_TRIALS:\n" +
        "set them as the fulfiller has them (fixed). An order whose email went out is never emailed again;\n" +
        "running it twice sends at most one email.\n" +
        "Examples:\n  npm run cli -- orders retry cs_live_... --dry-run\n  npm run cli -- orders retry cs_live_...",
    )
    .action(async (sessionId: string, opts: { dryRun?: boolean; json?: boolean }) => {
      const config = requireSettings(await loadCliConfig(process.env), [
        "STRIPE_API_KEY",
        ...(opts.dryRun ? [] : (["SENDGRID_API_KEY", "EMAIL_FROM", "FULFILMENT_EMAIL_TO"] as const)),
      ]);
      const log = createLogger({ service: "cli", level: "warn" });
      const clients = await PipelineClients.open(config, ["firestore"]);
      await operatorAction(clients, async () => {
        const result = await (
          await operatorActions(config, clients.orders())
        ).retry(sessionId, log, {
          dryRun: opts.dryRun,
        });
        if ("decision" in result) {
          const d = result.decision;
          const summary = {
            session_id: sessionId,
            would: d.action === "send" ? "send the order email (fulfilled)" : `record ${d.status}`,
            reason: d.reason,
            ...(d.action === "send" && d.details.refunded
              ? { refunded: formatAmount(d.details.refunded, d.details.currency) }
              : {}),
          };
          if (opts.json) console.log(JSON.stringify({ dry_run: true, ...summary, decision: d }, null, 2));
          else console.log(`dry run: order ${sessionId} would ${summary.would}: ${summary.reason}`);
          return;
        }
        const { outcome } = result;
        if (opts.json) console.log(JSON.stringify({ session_id: sessionId, ...outcome }, null, 2));
        else
          console.log(`order ${sessionId}: ${outcome.result}${outcome.reason ? ` (${outcome.reason})` : ""}`);
        if (!outcome.ack || outcome.result === "failed" || outcome.result === "needs_review")
          process.exitCode = 1;
      });
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
      // The payment is re-checked in Stripe before the email goes out again.
      const config = requireSettings(await loadCliConfig(process.env), [
        "STRIPE_API_KEY",
        "SENDGRID_API_KEY",
        "EMAIL_FROM",
        "FULFILMENT_EMAIL_TO",
      ]);
      const log = createLogger({ service: "cli", level: "warn" });
      const clients = await PipelineClients.open(config, ["firestore"]);
      await operatorAction(clients, async () => {
        const outcome = await (
          await operatorActions(config, clients.orders())
        ).resendUndelivered(sessionId, log);
        if (outcome.result === "resent") {
          console.log(
            `order ${sessionId}: email resent (SendGrid message id ${outcome.messageId ?? "unknown"})`,
          );
          return;
        }
        console.error(`order ${sessionId}: ${outcome.result}${outcome.reason ? `: ${outcome.reason}` : ""}`);
        process.exitCode = 1;
      });
    });
  orders
    .command("redact")
    .argument("[session_id]", "the order whose customer's details to erase")
    .description(
      "Erase a customer's personal details in place (a right-to-erasure request): name, email, phone, addresses, custom-field values. Status, fences and ids stay, so a redelivered event is still a duplicate.",
    )
    .option("--email <address>", "every order of the customer with this email (by its keyed hash)")
    .option(
      "--by <who>",
      "who asked, recorded as redacted_by",
      process.env.USER ? `operator:${process.env.USER}` : "operator",
    )
    .option("--dry-run", "say what would be erased; erase nothing")
    .option("--json", "a JSON array of {session_id, erased, redacted_at, already}")
    .addHelpText(
      "after",
      "\nExamples:\n  npm run cli -- orders redact cs_live_... --dry-run\n  npm run cli -- orders redact --email jane@example.com --by 'ticket 4711'\n" +
        "\nThen ask Stripe to redact the customer too (terraform/README.md is not enough: README, Erasure).",
    )
    .action(
      async (
        sessionId: string | undefined,
        opts: { email?: string; by: string; dryRun?: boolean; json?: boolean },
      ) => {
        if (!!sessionId === !!opts.email)
          throw new UsageError("give a session id, or --email ADDRESS (one of the two)");
        const config = await loadCliConfig(process.env);
        if (opts.email && !config.ORDER_EMAIL_HASH_KEY)
          throw new UsageError(
            "--email needs ORDER_EMAIL_HASH_KEY (the fulfiller's; terraform output -raw cli_env)",
          );
        const clients = await PipelineClients.open(config, ["firestore"]);
        try {
          const store = clients.orders();
          const { ordersOfEmail, redactOrderById } = await import("../../fulfiller/operator/redact.js");
          const ids = sessionId
            ? [sessionId]
            : await ordersOfEmail(store, config.ORDER_EMAIL_HASH_KEY!, opts.email!);
          const done = [];
          for (const id of ids) {
            const one = await redactOrderById(store, id, opts.by, !!opts.dryRun);
            if (!one && sessionId) {
              console.error(`no order ${id}`);
              process.exitCode = 1;
              return;
            }
            if (one) done.push(one);
          }
          if (opts.json) console.log(JSON.stringify(done, null, 2));
          else if (!done.length) console.log(`no order for ${opts.email ?? sessionId}`);
          else
            for (const r of done)
              console.log(
                `${opts.dryRun ? "would erase" : "erased"} ${r.session_id}: ${r.erased.length ? r.erased.join(", ") : r.already ? "nothing (already redacted)" : "nothing (no details held)"}`,
              );
        } finally {
          await clients.close();
        }
      },
    );

  orders
    .command("migrate-pii")
    .description(
      "Move the customer's details of orders written before DESIGN 5c into orders/{id}/private/customer. Idempotent and resumable: a second run moves nothing.",
    )
    .option("--dry-run", "count what would move; move nothing")
    .option("--batch <n>", "orders read per page", (v) => Number(v), 200)
    .addHelpText(
      "after",
      "\nExamples:\n  npm run cli -- orders migrate-pii --dry-run\n  npm run cli -- orders migrate-pii",
    )
    .action(async (opts: { dryRun?: boolean; batch: number }) => {
      const clients = await PipelineClients.open(await loadCliConfig(process.env), ["firestore"]);
      try {
        const store = clients.orders();
        let after: string | null = null;
        let scanned = 0;
        let moved = 0;
        for (;;) {
          const page: { ids: string[]; scanned: number; last: string | null } = await store.legacyPage(
            after,
            opts.batch,
          );
          scanned += page.scanned;
          for (const id of page.ids) {
            // Rewriting the record is the move: the store splits every write.
            if (!opts.dryRun) await store.transact(id, (order) => ({ next: order, result: undefined }));
            moved += 1;
          }
          console.error(
            `migrate-pii: ${scanned} order(s) read, ${moved} ${opts.dryRun ? "to move" : "moved"}`,
          );
          if (!page.last || page.scanned < opts.batch) break;
          after = page.last;
        }
        console.log(`${opts.dryRun ? "would move" : "moved"} the details of ${moved} of ${scanned} order(s)`);
      } finally {
        await clients.close();
      }
    });

  return orders;
}
