import type { ChildProcess } from "node:child_process";

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
export function trackChild(name: string, child: ChildProcess): () => string {
  let output = "";
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    for (const line of text.split("\n")) if (line.trim()) recordServiceLine(`child:${name}`, line);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  return () => output;
}
