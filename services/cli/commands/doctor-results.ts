/** What each of `doctor`'s checks reports, and the three ways of saying it. */

/** `warning`: worth a look, not a fault of the deployment (backlog, with `--deploy`). */
export type CheckStatus = "ok" | "problem" | "warning" | "skipped";

export interface CheckResult {
  check: string;
  status: CheckStatus;
  detail: string;
  /** How to fix it (problems), or why it could not be checked (skipped). */
  fix?: string;
}

export const ok = (detail: string) => ({ status: "ok" as const, detail });
export const problem = (detail: string, fix: string) => ({ status: "problem" as const, detail, fix });
export const skipped = (detail: string, why: string) => ({ status: "skipped" as const, detail, fix: why });
