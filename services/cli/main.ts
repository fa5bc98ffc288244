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
import { doctorCommand } from "./commands/doctor.js";
import { ConfigError } from "../common/errors.js";
import { UsageError } from "./output.js";
import { assertLocalStackUp, LocalStackDownError, resolveTarget } from "./local-target.js";
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
      "\nTarget: the environment (GOOGLE_CLOUD_PROJECT and the variables in the README). With no\n" +
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

async function main(): Promise<void> {
  // --local may stand anywhere on the line; it chooses the target before parsing.
  const args = process.argv.slice(2);
  const forceLocal = args.includes("--local");
  const rest = args.filter((a) => a !== "--local");
  const wantsHelp = rest.length === 0 || rest.some((a) => a === "-h" || a === "--help" || a === "help");
  let local: LocalStackState | null;
  try {
    // doctor checks the configuration it is given: the stack only fills in what is unset.
    const target = resolveTarget(process.env, { forceLocal, fillOnly: rest[0] === "doctor" });
    if (target.notice) console.error(target.notice);
    // Commands read their configuration from process.env (once, in loadCliConfig).
    Object.assign(process.env, target.env);
    local = target.local;
    if (local && !wantsHelp) await assertLocalStackUp(local);
  } catch (err) {
    if (!(err instanceof LocalStackDownError)) throw err;
    console.error(`error: ${err.message}`);
    process.exitCode = 1;
    return;
  }
  const program = buildProgram(process.env, local);
  try {
    await program.parseAsync([...process.argv.slice(0, 2), ...rest]);
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
