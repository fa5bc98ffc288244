#!/usr/bin/env node
/**
 * The operator CLI. Exit codes: 0 success, 1 the command failed (or some items
 * failed), 2 bad usage or configuration.
 */
import { Command, CommanderError } from "commander";
import { sendTestEventCommand } from "./commands/send-test-event.js";
import { dlqCommand } from "./commands/dlq.js";
import { ordersCommand } from "./commands/orders.js";
import { reconcileCommand } from "./commands/reconcile.js";
import { ConfigError } from "../common/errors.js";
import { UsageError } from "./output.js";

export function buildProgram(env: NodeJS.ProcessEnv): Command {
  const program = new Command("fulfilment")
    .description("Operate the Stripe fulfilment pipeline: send test events, dead letters, orders, reconcile.")
    .showHelpAfterError()
    .addHelpText(
      "after",
      "\nExit codes: 0 success, 1 failure (or partial failure), 2 bad usage or configuration.",
    );
  program.addCommand(sendTestEventCommand(env));
  program.addCommand(dlqCommand());
  program.addCommand(ordersCommand());
  program.addCommand(reconcileCommand());
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram(process.env).exitOverride();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exitCode = 2;
      return;
    }
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

await main();
