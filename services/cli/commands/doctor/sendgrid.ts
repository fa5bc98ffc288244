/** `doctor`'s SendGrid check: the key is accepted and may send (mail.send). */
import type { DoctorConfig } from "./config.js";
import { check, ok, problem, skipped, type CheckResult } from "./results.js";

export async function checkSendGrid(
  results: CheckResult[],
  c: DoctorConfig,
  apiKey: string | undefined,
): Promise<void> {
  await check(
    results,
    "sendgrid",
    async () => {
      if (!apiKey) return skipped("SendGrid", "SENDGRID_API_KEY did not resolve (above)");
      const base = (c.SENDGRID_API_BASE ?? "https://api.sendgrid.com").replace(/\/$/, "");
      const response = await fetch(`${base}/v3/scopes`, {
        headers: { authorization: `Bearer ${apiKey}` },
        signal: AbortSignal.timeout(10_000),
      });
      if (response.status === 401 || response.status === 403)
        return problem(
          `SendGrid refuses SENDGRID_API_KEY (${response.status})`,
          "create a key with Mail Send access and store it in SENDGRID_API_KEY",
        );
      if (!response.ok)
        return problem(`SendGrid answered ${response.status}`, "retry; check status.sendgrid.com");
      const { scopes } = (await response.json()) as { scopes?: string[] };
      return (scopes ?? []).includes("mail.send")
        ? ok("SendGrid accepts SENDGRID_API_KEY, and it may send (mail.send)")
        : problem(
            "SENDGRID_API_KEY lacks the mail.send permission",
            "give the key Mail Send access in SendGrid (Settings > API Keys)",
          );
    },
    "check SENDGRID_API_BASE and the network",
  );
}
