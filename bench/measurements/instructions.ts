/**
 * Instructions per request under callgrind: what the server's code executes, counted
 * rather than timed, so a figure that does not move with the machine's pace. On a shared
 * 2-core virtual machine the same server's throughput swings by a factor of two between
 * minutes, and this count is the same within a few per cent run after run.
 *
 * Each server runs under `valgrind --tool=callgrind --separate-threads=yes`; after a
 * warm-up (so the JIT has settled) the counters are zeroed, a fixed number of requests is
 * sent, and the counters are dumped. The main thread (JavaScript, the event loop) is what
 * bounds throughput; the other threads are V8's garbage collector and compilers. User-space
 * instructions only: the kernel's share (the socket write of each answer, the same for
 * every server) is not counted, so the ratio understates how close the servers are.
 */
import autocannon from "autocannon";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnServer } from "../measure.js";
import { signedStripeRequests } from "../receiver-process.js";
import { SECRET, type Plan } from "../plan.js";
import { round } from "../ratios.js";

export interface InstructionCount {
  /** Thousands of instructions per request on the main thread. */
  main_k: number;
  /** Thousands of instructions per request over all of the process's threads. */
  all_k: number;
  requests: number;
}

export function valgrindAvailable(): boolean {
  try {
    execFileSync("valgrind", ["--version"], { stdio: "ignore" });
    execFileSync("callgrind_control", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The totals line of one callgrind dump file. */
export function callgrindTotal(text: string): number {
  const match = /^(?:summary|totals):\s+(\d+)/m.exec(text);
  if (!match) throw new Error("no summary or totals line in the callgrind output");
  return Number(match[1]);
}

/**
 * Counts one compiled bench server (`script`) with the no-op publisher: `warm` requests,
 * then the counted `measure` requests, 8 connections.
 */
export async function countInstructions(
  script: string,
  env: Record<string, string>,
  secret: string,
  options: { warm: number; measure: number },
): Promise<InstructionCount> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-callgrind-"));
  const server = await spawnServer(script, env, {
    launcher: [
      "valgrind",
      "--tool=callgrind",
      "--separate-threads=yes",
      "--dump-instr=no",
      // Start-up runs uninstrumented (several times faster); counting starts before the warm-up.
      "--instr-atstart=no",
      `--callgrind-out-file=${dir}/cg.%p`,
    ],
    startTimeoutMs: 120_000,
  }).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const pid = server.child.pid!;
  try {
    const requests = signedStripeRequests(secret);
    const url = `http://127.0.0.1:${server.port}`;
    const send = async (amount: number) => {
      const result = await autocannon({ url, connections: 8, amount, requests, timeout: 600 });
      const failed = result.errors + result.timeouts + result.non2xx;
      if (failed > 0) throw new Error(`${script}: ${failed} of ${amount} requests failed under valgrind`);
      return result.requests.total;
    };
    execFileSync("callgrind_control", ["--instr=on", String(pid)], { stdio: "ignore" });
    await send(options.warm);
    execFileSync("callgrind_control", ["--zero", String(pid)], { stdio: "ignore" });
    const counted = await send(options.measure);
    execFileSync("callgrind_control", ["--dump", String(pid)], { stdio: "ignore" });
    // The dump is one file per thread: cg.PID.1-01 (the main thread), cg.PID.1-02, …
    const prefix = `cg.${pid}.1-`;
    let files: string[] = [];
    for (let i = 0; i < 200 && files.length === 0; i++) {
      files = readdirSync(dir).filter((f) => f.startsWith(prefix));
      if (files.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 500)); // the other threads' files follow the first
    files = readdirSync(dir).filter((f) => f.startsWith(prefix));
    const totals = new Map(
      files.map((f) => [f.slice(prefix.length), callgrindTotal(readFileSync(path.join(dir, f), "utf8"))]),
    );
    const main = totals.get("01");
    if (main === undefined)
      throw new Error(`${script}: callgrind wrote no main-thread dump (${files.join(", ")})`);
    const all = [...totals.values()].reduce((a, b) => a + b, 0);
    return {
      main_k: Math.round(main / counted / 1000),
      all_k: Math.round(all / counted / 1000),
      requests: counted,
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Instructions per request (callgrind), receiver and bare handler, no-op publisher. */
export interface InstructionsPerRequest {
  receiver: InstructionCount;
  bare: InstructionCount;
  receiver_vs_bare_main_thread: number;
  receiver_vs_bare_all_threads: number;
}

/**
 * Instructions per request, receiver against bare, no-op publisher, both under callgrind at
 * once (a count does not depend on what else runs). Null where valgrind is not installed.
 */
export async function measureInstructions(
  distDir: string,
  plan: Plan,
  log: (line: string) => void,
): Promise<InstructionsPerRequest | null> {
  if (!valgrindAvailable()) {
    log("instructions per request: valgrind is not installed, skipped");
    return null;
  }
  log(`instructions per request under callgrind (${plan.instructions.measure} requests each)…`);
  const env = { BENCH_SECRET: SECRET, BENCH_NOOP: "1", GOOGLE_CLOUD_PROJECT: "bench-project" };
  const [receiver, bare] = await Promise.all(
    ["bench/servers/receiver.js", "bench/servers/bare-http.js"].map((script) =>
      countInstructions(path.join(distDir, script), env, SECRET, plan.instructions),
    ),
  );
  return {
    receiver: receiver!,
    bare: bare!,
    // Like the throughput ratios: above 1, the receiver does less than the bare handler.
    receiver_vs_bare_main_thread: round(bare!.main_k / receiver!.main_k, 3),
    receiver_vs_bare_all_threads: round(bare!.all_k / receiver!.all_k, 3),
  };
}
