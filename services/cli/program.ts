/** The CLI's commands, built for one environment (main.ts parses the command line with it). */
import { Command } from "commander";
import { sendTestEventCommand } from "./commands/send-test-event.js";
import { dlqCommand } from "./commands/dlq.js";
import { ordersCommand } from "./commands/orders/command.js";
import { reconcileCommand } from "./commands/reconcile.js";
import { doctorCommand } from "./commands/doctor/command.js";
import type { LocalStackState } from "../local/state-file.js";

export function buildProgram(env: NodeJS.ProcessEnv, local: LocalStackState | null = null): Command {
  const program = new Command("fulfilment")
    .description(
      "Operate the Stripe fulfilment pipeline: send test events, dead letters, orders, reconcile, doctor.",
    )
    .option(
      "--local",
      "target the local stack started by `npm start` (its .local/stack.json), even if GOOGLE_CLOUD_PROJECT is set",
    )
    .showHelpAfterError()
    .addHelpText(
      "after",
      "\nTarget: the environment (GOOGLE_CLOUD_PROJECT and the variables of docs/configuration.md). With no\n" +
        "GOOGLE_CLOUD_PROJECT set and `npm start` running, every command uses the local stack, and says so.\n" +
        "\nExit codes: 0 success, 1 failure (or partial failure), 2 bad usage or configuration.",
    );
  program.addCommand(sendTestEventCommand(env, local));
  program.addCommand(dlqCommand());
  program.addCommand(ordersCommand());
  program.addCommand(reconcileCommand());
  program.addCommand(doctorCommand());
  // Commander's own usage errors (unknown command or option, missing argument, invalid
  // choice) exit 2 like ours: every subcommand throws instead of exiting with 1.
  const overrideAll = (command: Command) => {
    command.exitOverride();
    for (const sub of command.commands) overrideAll(sub);
  };
  overrideAll(program);
  return program;
}
