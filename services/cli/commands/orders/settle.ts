/** `orders resolve`, `orders retry` and `orders resend`: an operator settles or re-decides an order, through the fence. */
import { Command } from "commander";
import { emailInDoubt } from "../../../fulfiller/operator/review.js";
import { formatAmount } from "../../../fulfiller/email/currency.js";
import { createLogger } from "../../../common/logger.js";
import { loadCliConfig, requireSettings } from "../../config.js";
import { PipelineClients } from "../../pipeline-clients.js";
import { UsageError } from "../../output.js";

import { operatorActions, reportMarker, operatorAction, confirmSent } from "./operator.js";

/** Adds `resolve`, `retry` and `resend` to the `orders` group. */
export function addSettleCommands(orders: Command): void {
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
}
