/** The shipped receiver (bench/servers/receiver.ts) in its own process, and what to send it. */
import { spawn } from "node:child_process";
import Stripe from "stripe";
import { buildEvent, buildSession, SCALE_LINE, STRAP_LINE } from "../services/local/stripe/objects.js";

/**
 * `count` signed ~5.7 KB `checkout.session.completed` requests (pretty-printed as Stripe
 * sends them), signed now: the tolerance is 300 s, so sign again for each run.
 * `headers()` adds per-request headers.
 */
export function signedStripeRequests(
  secret: string,
  headers: () => Record<string, string> = () => ({}),
  count = 40,
) {
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: count }, () => {
    const body = JSON.stringify(
      buildEvent({
        type: "checkout.session.completed",
        object: buildSession({ lines: [SCALE_LINE, STRAP_LINE], metadata: { order_ref: "x".repeat(900) } }),
      }),
      null,
      2,
    );
    return {
      method: "POST" as const,
      path: "/webhooks/stripe",
      headers: {
        "content-type": "application/json",
        ...headers(),
        "stripe-signature": Stripe.webhooks.generateTestHeaderString({
          payload: body,
          secret,
          timestamp: now,
        }),
      },
      body,
    };
  });
}

export async function startReceiver(
  env: Record<string, string>,
): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/servers/receiver.ts"], {
    env: { ...process.env, PORT: "0", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let err = "";
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
      const m = /listening (\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", () => reject(new Error(`receiver exited: ${err}`)));
  });
  return {
    port,
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}
