/** Process and HTTP measurement helpers for the benchmarks. */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import path from "node:path";

export function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS until stopped; returns the peak. */
export function sampleRss(pid: number, everyMs = 200): { stop(): number } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMiB(pid));
    },
  };
}

/**
 * Compiles the services and the benchmark servers into a fresh directory inside the
 * repository (so the compiled code resolves node_modules); the caller removes it.
 */
export function compileBench(): string {
  const distDir = mkdtempSync(path.resolve(".bench-dist-"));
  execFileSync(process.execPath, [
    "node_modules/typescript/bin/tsc",
    "-p",
    "tsconfig.bench.json",
    "--outDir",
    distDir,
  ]);
  return distDir;
}

export interface Spawned {
  child: ChildProcess;
  port: number;
  /** SIGKILL unless told otherwise; resolves once the process has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface SpawnOptions {
  /** Node's own flags (`--cpu-prof`, …). */
  nodeArgs?: string[];
  /** A command that runs node, as in `valgrind --tool=callgrind … node script`. */
  launcher?: string[];
  startTimeoutMs?: number;
}

/** Starts a compiled benchmark server and waits for its "listening PORT" line (on stderr). */
export async function spawnServer(
  script: string,
  env: Record<string, string>,
  options: SpawnOptions = {},
): Promise<Spawned> {
  const [command, ...launcherArgs] = [...(options.launcher ?? []), process.execPath];
  const child = spawn(command, [...launcherArgs, ...(options.nodeArgs ?? []), script], {
    env: { ...process.env, ...env, PORT: "0" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${script} did not start: ${stderr}`)),
      options.startTimeoutMs ?? 30_000,
    );
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
      const m = /listening (\d+)/.exec(c.toString());
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => reject(new Error(`${script} exited ${code}: ${stderr}`)));
  });
  return {
    child,
    port,
    async stop(signal: NodeJS.Signals = "SIGKILL") {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill(signal);
      await exited;
    },
  };
}
