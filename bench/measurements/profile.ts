/**
 * Where a benchmark server spends its CPU under load: `node --cpu-prof` on the compiled
 * server, saturated with the bench's signed requests through a no-op publisher (so the
 * profile is the server's own work, not the emulator's), and only the samples taken
 * during the measured load (start-up, module loading and warm-up are cut off).
 *
 * `npm run bench:profile [-- receiver|bare-http] [--seconds N] [--top N]` prints the top entries;
 * `npm run bench` runs it for both and writes them into docs/BENCHMARKS.md.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import { compileBench, spawnServer } from "../measure.js";
import { signedStripeRequests } from "../receiver-process.js";

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  /** Function and where it is defined, node_modules and the build directory abbreviated. */
  frame: string;
  /** Share of the samples during the load, idle included. */
  self_pct: number;
  /** CPU time per request, in microseconds. */
  us_per_request: number;
}

export interface ServerProfile {
  server: string;
  requests: number;
  rps: number;
  /** Share of the load window the process was idle (waiting for the load generator). */
  idle_pct: number;
  /** Busy CPU time per request, in microseconds. */
  busy_us_per_request: number;
  top: ProfileEntry[];
  /** The same samples by package: an npm package, a file of ours, a Node.js subsystem. */
  by_package: ProfileEntry[];
}

const SECRET = "whsec_bench_profile_0123456789";

function packageName(frame: CpuProfile["nodes"][number]["callFrame"]): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith("(") ? frame.functionName : `native ${frame.functionName}`;
  const npm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (npm) return npm[1]!;
  if (url.startsWith("node:"))
    return url
      .replace(/^node:(internal\/)?/, "node:")
      .split("/")
      .slice(0, 2)
      .join("/");
  return url.replace(/^file:\/\//, "").replace(/.*\.bench-dist-[^/]*\//, "");
}

function frameName(frame: CpuProfile["nodes"][number]["callFrame"]): string {
  const where = frame.url
    .replace(/^file:\/\//, "")
    .replace(/.*node_modules\//, "")
    .replace(/.*\.bench-dist-[^/]*\//, "");
  const name = frame.functionName || "(anonymous)";
  return where ? `${name} ${where}:${frame.lineNumber + 1}` : name;
}

/** Self time per frame over the samples taken at or after `fromMicros` (CLOCK_MONOTONIC µs). */
export function summarise(
  profile: CpuProfile,
  fromMicros: number,
  requests: number,
  top: number,
): Omit<ServerProfile, "server" | "rps"> {
  const frames = new Map(profile.nodes.map((n) => [n.id, frameName(n.callFrame)]));
  const packages = new Map(profile.nodes.map((n) => [n.id, packageName(n.callFrame)]));
  const self = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let at = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < fromMicros) continue;
    const frame = frames.get(profile.samples[i]!) ?? "?";
    self.set(frame, (self.get(frame) ?? 0) + delta);
    const pkg = packages.get(profile.samples[i]!) ?? "?";
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + delta);
    total += delta;
  }
  const idle = self.get("(idle)") ?? 0;
  const ranked = (times: Map<string, number>) =>
    [...times]
      .filter(([frame]) => frame !== "(idle)")
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, micros]) => ({
        frame,
        self_pct: Math.round((micros / total) * 1000) / 10,
        us_per_request: requests ? Math.round((micros / requests) * 10) / 10 : 0,
      }));
  return {
    requests,
    idle_pct: total ? Math.round((idle / total) * 1000) / 10 : 0,
    busy_us_per_request: requests ? Math.round((total - idle) / requests) : 0,
    top: ranked(self),
    by_package: ranked(byPackage),
  };
}

/** Profiles one compiled bench server (`bench/servers/<name>.js` under `distDir`). */
export async function profileServer(
  distDir: string,
  server: "receiver" | "bare-http",
  options: { seconds: number; top?: number; warmupSeconds?: number },
): Promise<ServerProfile> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-prof-"));
  try {
    const spawned = await spawnServer(
      path.join(distDir, `bench/servers/${server}.js`),
      { BENCH_NOOP: "1", BENCH_SECRET: SECRET },
      { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`] },
    );
    const url = `http://127.0.0.1:${spawned.port}`;
    const requests = signedStripeRequests(SECRET);
    await autocannon({ url, connections: 32, duration: options.warmupSeconds ?? 2, requests }); // JIT warm-up
    const from = Number(process.hrtime.bigint() / 1000n);
    const load = await autocannon({ url, connections: 32, duration: options.seconds, requests });
    await spawned.stop("SIGINT"); // a clean exit writes the profile
    const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error(`${server} wrote no profile`);
    const profile = JSON.parse(readFileSync(path.join(dir, file), "utf8")) as CpuProfile;
    return {
      server,
      rps: Math.round(load.requests.average),
      ...summarise(profile, from, load.requests.total, options.top ?? 15),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function renderProfile(p: ServerProfile): string {
  return [
    `${p.server}: ${p.requests} requests at ${p.rps} req/s, busy ${p.busy_us_per_request} µs per request, idle ${p.idle_pct}%`,
    "",
    "| self % | µs/request | function |",
    "|---|---|---|",
    ...p.top.map((e) => `| ${e.self_pct} | ${e.us_per_request} | \`${e.frame}\` |`),
    "",
    "| self % | µs/request | package or file |",
    "|---|---|---|",
    ...p.by_package.map((e) => `| ${e.self_pct} | ${e.us_per_request} | \`${e.frame}\` |`),
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const seconds = argv.includes("--seconds") ? Number(argv[argv.indexOf("--seconds") + 1]) : 8;
  const top = argv.includes("--top") ? Number(argv[argv.indexOf("--top") + 1]) : 15;
  const servers = (["receiver", "bare-http"] as const).filter(
    (s) => argv.includes(s) || !argv.some((a) => a === "receiver" || a === "bare-http"),
  );
  const distDir = compileBench();
  try {
    for (const server of servers) {
      console.log(`${renderProfile(await profileServer(distDir, server, { seconds, top }))}\n`);
    }
  } finally {
    rmSync(distDir, { recursive: true, force: true });
  }
}
