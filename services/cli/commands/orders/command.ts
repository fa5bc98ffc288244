/** The `orders` command group: the order records in Firestore, and what an operator does to them. */
import { Command } from "commander";

import { addListCommands } from "./list.js";
import { addPrivacyCommands } from "./privacy.js";
import { addSettleCommands } from "./settle.js";

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

  addListCommands(orders);
  addSettleCommands(orders);
  addPrivacyCommands(orders);
  return orders;
}
