/** `doctor`'s report: one line per check, each problem with its fix, and a closing count. */
import type { CheckResult, CheckStatus } from "./results.js";

const MARK: Record<CheckStatus, string> = {
  ok: "ok     ",
  problem: "PROBLEM",
  warning: "WARN   ",
  skipped: "skipped",
};

export function formatResults(results: CheckResult[]): string {
  const lines = results.map(
    (r) =>
      `${MARK[r.status]}  ${r.detail}${r.fix ? `${r.status === "problem" || r.status === "warning" ? "\n         fix: " : " — "}${r.fix}` : ""}`,
  );
  const problems = results.filter((r) => r.status === "problem").length;
  const skippedCount = results.filter((r) => r.status === "skipped").length;
  const warnings = results.filter((r) => r.status === "warning").length;
  const warned = warnings ? `, ${warnings} warning(s)` : "";
  lines.push(
    problems === 0
      ? `doctor: all ${results.length - skippedCount - warnings} checks passed${warned}${skippedCount ? `, ${skippedCount} skipped` : ""}`
      : `doctor: ${problems} problem(s) in ${results.length} checks${warned}`,
  );
  return lines.join("\n");
}
