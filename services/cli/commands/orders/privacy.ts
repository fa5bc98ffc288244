/** `orders redact` and `orders migrate-pii`: a customer's details erased in place, or moved apart from the order (DESIGN 5c). */
import { Command } from "commander";
import { loadCliConfig } from "../../config.js";
import { PipelineClients } from "../../pipeline-clients.js";
import { UsageError } from "../../output.js";

/** Adds `redact` and `migrate-pii` to the `orders` group. */
export function addPrivacyCommands(orders: Command): void {
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
        '\nThen erase the customer in Stripe too, and the rest of docs/operations.md, "An erasure request".',
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
          const { ordersOfEmail, redactOrderById } = await import("../../../fulfiller/operator/redact.js");
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
}
