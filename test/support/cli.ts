import { spawn } from "node:child_process";
import { trackChild } from "./log-registry.js";

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * The operator CLI as a person runs it: its own process, with exactly `env`. Its stderr
 * (logs, warnings) goes to the log-hygiene check; its stdout is the command's answer.
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "services/cli/main.ts", ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    trackChild(`cli-${args.find((a) => !a.startsWith("-")) ?? ""}`, child, { stdoutIsData: true });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("exit", (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}
