#!/usr/bin/env node
/**
 * The operator CLI. Exit codes: 0 success, 1 the command failed (or some items
 * failed), 2 bad usage or configuration.
 */
import { Command, CommanderError } from "commander";
import { sendTestEventCommand } from "./commands/send-test-event.js";
import { ConfigError } from "../common/errors.js";

export function buildProgram(env: NodeJS.ProcessEnv): Command {
  const program = new Command("fulfilment")
    .description("Operate the Stripe fulfilment pipeline: send test events, dead letters, orders, reconcile.")
    .showHelpAfterError()
    .addHelpText(
      "after",
      "\nExit codes: 0 success, 1 failure (or partial failure), 2 bad usage or configuration.",
    );
  program.addCommand(sendTestEventCommand(env));
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
