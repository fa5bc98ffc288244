#!/usr/bin/env node
/**
 * The operator CLI. Exit codes: 0 success, 1 the command failed (or some items
 * failed), 2 bad usage or configuration.
 */
import { CommanderError } from "commander";
import { buildProgram } from "./program.js";
import { ConfigError } from "../common/errors.js";
import { UsageError } from "./output.js";
import { assertLocalStackUp, LocalStackDownError, resolveTarget } from "./local-target.js";
import type { LocalStackState } from "../local/state-file.js";

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
      // No target at all: name both ways forward, not only the missing variable.
      if (
        !local &&
        !process.env.GOOGLE_CLOUD_PROJECT?.trim() &&
        err.problems.some((p) => p.startsWith("GOOGLE_CLOUD_PROJECT"))
      )
        console.error(
          "error: no target: start the local stack with `npm start`, or set GOOGLE_CLOUD_PROJECT for a deployment " +
            "(`set -a; . <(terraform output -raw cli_env); set +a`)",
        );
      console.error(err.message);
      process.exitCode = 2;
      return;
    }
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}

await main();
