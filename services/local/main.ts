/**
 * `npm start`: the whole pipeline on this machine with no cloud account.
 * Ctrl-C stops everything it started.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { emulatorProblem } from "./emulators.js";
import { startStack } from "./stack.js";
import { busyPorts } from "./ports.js";
import { LOCAL } from "./defaults.js";
import { localStateFile, removeLocalState, STATE_ENV_KEYS, writeLocalState } from "./state-file.js";

// No Google metadata server exists here: the clients' probe only prints a warning.
process.env.METADATA_SERVER_DETECTION ??= "none";

const COLORS: Record<string, string> = {
  receiver: "36",
  fulfiller: "35",
  pubsub: "33",
  firestore: "33",
  sendgrid: "32",
  stack: "1",
};
const tty = process.stdout.isTTY;
function print(part: string, line: string): void {
  const label = part.padEnd(9);
  console.log(tty ? `\x1b[${COLORS[part] ?? "0"}m${label}|\x1b[0m ${line}` : `${label}| ${line}`);
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  if (existsSync(".env")) process.loadEnvFile(".env");
  const problem = emulatorProblem();
  if (problem) {
    console.error(`Cannot start the local stack: ${problem}`);
    process.exit(2);
  }
  const outboxDir = path.resolve(process.env.LOCAL_OUTBOX_DIR ?? ".outbox");
  // Every fixed port first, the capture server's and the stand-ins' included: a clash is
  // named before anything starts, not found 14 s later as a child's exit code.
  if (process.env.LOCAL_STACK_PORTS !== "auto") {
    const busy = await busyPorts(LOCAL.ports);
    if (busy.length) {
      for (const line of busy) console.error(`Cannot start the local stack: ${line}`);
      process.exit(2);
    }
  }
  print("stack", "starting emulators, stand-ins and both services…");
  // LOCAL_STACK_PORTS=auto picks free ports (used by the smoke test; the printed URLs say which).
  const auto = process.env.LOCAL_STACK_PORTS === "auto";
  // LOCAL_STRIPE_RATE_LIMIT=8: the Stripe stand-in answers 429 beyond 8 requests/s, as a sale would meet Stripe's limit.
  const rateLimit = Number(process.env.LOCAL_STRIPE_RATE_LIMIT ?? "");
  if (process.env.LOCAL_STRIPE_RATE_LIMIT && !(rateLimit > 0)) {
    console.error("LOCAL_STRIPE_RATE_LIMIT must be a number of requests per second above 0, such as 8");
    process.exit(2);
  }
  const stack = await startStack({
    outboxDir,
    ...(rateLimit > 0 ? { stripeRateLimit: rateLimit } : {}),
    ...(auto
      ? { ports: { receiver: 0, fulfiller: 0, pubsub: 0, firestore: 0, sendgrid: 0, stripe: 0 } }
      : {}),
    env: {
      STRIPE_API_KEY: process.env.STRIPE_API_KEY,
      // `stripe listen` prints its own whsec_: accept it beside the local one (send-test-event).
      STRIPE_WEBHOOK_SECRET: process.env.STRIPE_WEBHOOK_SECRET
        ? `${process.env.STRIPE_WEBHOOK_SECRET},${LOCAL.webhookSecret}`
        : undefined,
      FULFILMENT_PRODUCT_IDS: process.env.FULFILMENT_PRODUCT_IDS,
      FULFILMENT_OPT_IN_FIELD: process.env.FULFILMENT_OPT_IN_FIELD,
      FULFIL_TRIALS: process.env.FULFIL_TRIALS,
      // e.g. warehouse+bounce@localhost.test: the capture server then plays back a bounce.
      FULFILMENT_EMAIL_TO: process.env.FULFILMENT_EMAIL_TO,
      SENDGRID_TEMPLATE_ID: process.env.SENDGRID_TEMPLATE_ID,
      STRIPE_REQUESTS_PER_SECOND: process.env.STRIPE_REQUESTS_PER_SECOND,
      LOG_LEVEL: process.env.LOG_LEVEL,
    },
    onLine: (part, line) => {
      if ((part === "pubsub" || part === "firestore") && !/error|exception|listening|started/i.test(line))
        return;
      print(part, line);
    },
    onEmail: (email) => {
      print(
        "sendgrid",
        `email accepted for ${email.customArgs.order_id ?? "?"}: ${email.file ?? "(memory)"}`,
      );
      // The warehouse's signed dispatch link, as the email carries it (DESIGN 5b).
      const link = /https?:\/\/\S+\/dispatch\/\S+/.exec(email.text)?.[0];
      if (link) print("sendgrid", `  dispatch link (open it, record a tracking number): ${link}`);
    },
  });
  const stateFile = localStateFile();
  writeLocalState(stateFile, {
    pid: process.pid,
    started_at: new Date(startedAt).toISOString(),
    env: Object.fromEntries(STATE_ENV_KEYS.flatMap((k) => (stack.env[k] ? [[k, stack.env[k]]] : []))),
    urls: {
      receiver: stack.receiverUrl,
      fulfiller: stack.fulfillerUrl,
      sendgrid: stack.sendgrid.url,
      stripe: stack.stripe?.url ?? null,
    },
  });
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  const lines = [
    `ready in ${seconds} s`,
    `receiver    ${stack.receiverUrl}/webhooks/stripe  (signing secret in ${path.relative(process.cwd(), stateFile)})`,
    `fulfiller   ${stack.fulfillerUrl}/pubsub/push  (PUSH_AUTH=none: local only)`,
    `pubsub      ${stack.pubsubHost}  topic ${stack.names.topic}, DLQ ${stack.names.dlqTopic}/${stack.names.dlqSubscription}`,
    `firestore   ${stack.firestoreHost}  (orders, stripe_events)`,
    `sendgrid    ${stack.sendgrid.url}  emails written to ${outboxDir}`,
    stack.stripe
      ? `stripe      ${stack.stripe.url}  (local stand-in; set STRIPE_API_KEY in .env for real test mode)`
      : "stripe      real API (STRIPE_API_KEY from .env)",
    `project     ${stack.project}  (what the stack runs is in ${path.relative(process.cwd(), stateFile)} while it is up)`,
    "",
    "next, in another terminal (the CLI finds this stack by itself):",
    "  npm run cli -- send-test-event",
    "  npm run cli -- orders list",
    "Ctrl-C stops everything (a script or supervisor: send SIGTERM or SIGINT to this node process, not to npm).",
  ];
  for (const line of lines) print("stack", line);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    print("stack", `${signal}: stopping everything…`);
    removeLocalState(stateFile);
    void stack.stop().then(() => {
      print("stack", "stopped");
      process.exit(0);
    });
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err: unknown) => {
  console.error(`local stack failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
