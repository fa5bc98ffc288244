/**
 * docs/BENCHMARKS.md from a run's results: bench/BENCHMARKS.template.md with its
 * `{{placeholders}}` filled, then formatted as the repository's lint expects (prettier).
 * The prose lives in the template; this file only knows where each figure comes from.
 *   npm run bench -- --render [--check]   the document again from bench/results.json
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { renderProfile } from "./measurements/profile.js";
import type { RatioSummary } from "./ratios.js";
import { renderTable } from "./render-table.js";
import type { Results } from "./results.js";

export const BENCHMARKS_DOC = "docs/BENCHMARKS.md";
export const TEMPLATE = "bench/BENCHMARKS.template.md";
/** The profile of the receiver before its optimisation, kept for the comparison. */
const PROFILE_BEFORE = "bench/profile-before.md";

/** `median (min–max)`, or n/a. */
export const formatSpread = (x: RatioSummary | null | undefined) =>
  x ? `${x.median} (${x.min}–${x.max})` : "n/a";

/** Every plain `{{name}}` of the template, from one run's results. */
function namedValues(r: Results, table: string): Record<string, string | number> {
  const before = existsSync(PROFILE_BEFORE)
    ? readFileSync(PROFILE_BEFORE, "utf8")
        .replace(/<!--[\s\S]*?-->\s*/, "")
        .trim()
    : "";
  const slices = r.receiver.slices_per_run ?? 1;
  return {
    command_flags: r.mode === "quick" ? " -- --quick" : "",
    date: r.date.slice(0, 10),
    cores: r.machine.cores,
    cpu: r.machine.cpu,
    memory_gib: r.machine.memory_gib,
    node: r.machine.node,
    body_kb: r.receiver.body_bytes / 1000,
    warmup_seconds: r.receiver.warmup_seconds,
    seconds_per_run: r.receiver.seconds_per_run,
    slices,
    slice_seconds: r.receiver.seconds_per_run / slices,
    light_load: r.receiver.light_load || "not run",
    instructions_warmup: r.instructions ? "a warm-up" : "a warm-up (not run here)",
    instructions_requests: r.instructions?.receiver.requests ?? "N",
    instructions_main: r.instructions?.receiver_vs_bare_main_thread ?? "n/a",
    instructions_all: r.instructions?.receiver_vs_bare_all_threads ?? "n/a",
    sale_rate: r.flash_sale?.rate ?? "R",
    startup_runs: r.startup.receiver?.runs ?? 0,
    results_table: table,
    profile_before: before || `(${PROFILE_BEFORE} is missing)`,
    profiles: r.profiles.map((p) => renderProfile(p)).join("\n\n") || "(not run in this mode)",
  };
}

/**
 * Fills the template: `{{name}}`, `{{spread:RATIO}}` (median and spread of a summarized
 * ratio) and `{{startup:ROW}}` (a start-up row's median ms). A placeholder with no value
 * is an error, not an empty string: a renamed figure must not vanish from the page.
 */
export function fillTemplate(template: string, r: Results, table: string): string {
  const named = namedValues(r, table);
  return template.replace(/\{\{(\w+)(?::(\w+))?\}\}/g, (whole, name: string, key: string | undefined) => {
    if (name === "spread" && key !== undefined) return formatSpread(r.spreads[key]);
    if (name === "startup" && key !== undefined) return String(r.startup[key]?.ready_ms_median ?? "n/a");
    const value = key === undefined ? named[name] : undefined;
    if (value === undefined) throw new Error(`${TEMPLATE}: no value for ${whole}`);
    return String(value);
  });
}

/** docs/BENCHMARKS.md's text for these results. */
export async function renderDoc(results: Results, table = renderTable(results)): Promise<string> {
  const prettier = await import("prettier");
  const options = { ...(await prettier.resolveConfig(BENCHMARKS_DOC)), filepath: BENCHMARKS_DOC };
  return prettier.format(fillTemplate(readFileSync(TEMPLATE, "utf8"), results, table), options);
}

/** `--render [--check]`: the document from the last full run's results.json in `outDir`. */
export async function renderFromResults(outDir: string, check: boolean): Promise<number> {
  const file = path.join(outDir, "results.json");
  if (!existsSync(file)) {
    console.error(`bench --render: ${file} does not exist; run \`npm run bench\` first.`);
    return 2;
  }
  const text = await renderDoc(JSON.parse(readFileSync(file, "utf8")) as Results);
  if (!check) {
    writeFileSync(BENCHMARKS_DOC, text);
    console.log(`${BENCHMARKS_DOC} rendered from ${file}`);
    return 0;
  }
  if (existsSync(BENCHMARKS_DOC) && readFileSync(BENCHMARKS_DOC, "utf8") === text) {
    console.log(`${BENCHMARKS_DOC} is current with ${file}`);
    return 0;
  }
  console.error(`${BENCHMARKS_DOC} differs from what ${file} renders: run \`npm run bench -- --render\`.`);
  return 1;
}
