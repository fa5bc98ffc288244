import type { ChildProcess } from "node:child_process";
import { lineSplitter } from "../../services/local/lines.js";

/**
 * Every line the services print during the run, in-process or as child processes,
 * for the log-hygiene test (test/zz-log-hygiene.test.ts), which reads all of them.
 */
export const serviceLogLines: string[] = [];

/** Where lines came from: "in-process", or a child process's name. */
export const logSources = new Map<string, number>();

export function recordServiceLine(part: string, line: string): void {
  serviceLogLines.push(line);
  logSources.set(part, (logSources.get(part) ?? 0) + 1);
}

/**
 * Feeds every line a child process prints (stdout and stderr) into the registry.
 * Every process the suite starts goes through here, so the hygiene check covers it.
 * Returns a function that gives the output so far as one string.
 */
export function trackChild(
  name: string,
  child: ChildProcess,
  options: { stdoutIsData?: boolean } = {},
): () => string {
  let output = "";
  // A CLI command's stdout is its answer (`orders show` prints the customer, as asked);
  // what it logs and warns goes to stderr, which is checked like every service's lines.
  const streams = [
    [child.stdout, !options.stdoutIsData],
    [child.stderr, true],
  ] as const;
  for (const [stream, isLog] of streams) {
    const lines = lineSplitter((line) => {
      if (isLog) recordServiceLine(`child:${name}`, line);
    });
    stream?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      lines.push(chunk);
    });
    stream?.on("end", () => lines.flush());
  }
  return () => output;
}

/**
 * Waits for a service started with PORT=0 to log "<service> ready" and returns the
 * port it bound: the port is never picked, released and bound again by someone else.
 */
export async function readyPort(
  service: "receiver" | "fulfiller",
  output: () => string,
  exited: Promise<unknown>,
  timeoutMs = 20_000,
): Promise<number> {
  let gone = false;
  void exited.then(() => (gone = true));
  const until = Date.now() + timeoutMs;
  for (;;) {
    for (const line of output().split("\n")) {
      if (!line.includes(`"${service} ready"`)) continue;
      const port = (JSON.parse(line) as { port?: unknown }).port;
      if (typeof port === "number" && port > 0) return port;
    }
    if (gone) throw new Error(`the ${service} exited before it was ready:\n${output()}`);
    if (Date.now() > until)
      throw new Error(`the ${service} was not ready within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
