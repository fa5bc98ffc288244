/** `orders list` and `orders show`: the order records, whole ids, for an operator or a script. */
import { Command, Option } from "commander";
import { ORDER_STATUSES, type OrderRecord, type OrderStatus } from "../../../fulfiller/claims/order-state.js";
import { reviewNote } from "../../../fulfiller/operator/review.js";
import { loadCliConfig } from "../../config.js";
import { isUndispatched } from "../../../fulfiller/delivery/record-dispatch.js";
import { PipelineClients } from "../../pipeline-clients.js";
import { table, UsageError, parseSince } from "../../output.js";

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

/** Adds `list` and `show` to the `orders` group. */
export function addListCommands(orders: Command): void {
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
}
