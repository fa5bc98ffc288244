/** What each of `doctor`'s checks reports, the ways of saying it, and how one check runs. */
import { errorMessage } from "../../../common/errors.js";
import { withDeadline } from "../../../common/pubsub.js";
import { CALL_TIMEOUT_MS } from "../../pipeline-clients.js";

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

/** One check's answer before it is named: one line or several. */
export type Outcome = Omit<CheckResult, "check">;

/** Runs one check; an exception is a problem with its message, never a crash of the whole run. */
export async function check(
  results: CheckResult[],
  name: string,
  fn: () => Outcome | Outcome[] | Promise<Outcome | Outcome[]>,
  fixOnError: string,
): Promise<void> {
  try {
    const out = await withDeadline(Promise.resolve().then(fn), CALL_TIMEOUT_MS, name);
    for (const r of Array.isArray(out) ? out : [out]) results.push({ check: name, ...r });
  } catch (err) {
    results.push({ check: name, status: "problem", detail: errorMessage(err), fix: fixOnError });
  }
}

export function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}
