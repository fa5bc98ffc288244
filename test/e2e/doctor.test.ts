// `doctor` against a local stack: every check answered by the emulators and the stand-ins,
// and each misconfiguration named in its own problem line with the exit code 1.
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Firestore } from "@google-cloud/firestore";
import { writeLocalState, STATE_ENV_KEYS } from "../../services/local/state-file.js";
import type { CheckResult } from "../../services/cli/commands/doctor/results.js";
import { requireEmulators } from "../support/emulator-state.js";
import { startTestStack } from "../support/stack.js";
import { runCli, type CliRun } from "../support/cli.js";
import { seedOrder } from "../support/orders.js";
import { GoogleApisStandIn, healthyDeployment } from "../support/google-apis-stand-in.js";

describe("e2e: doctor checks a deployment (the local stack)", function () {
  this.timeout(120_000);
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  let dir: string;
  let stateFile: string;
  let db: Firestore;

  before(async function () {
    const env = requireEmulators(this);
    stack = await startTestStack("doctor", env);
    db = new Firestore({ projectId: env.project });
    dir = await mkdtemp(path.join(tmpdir(), "doctor-"));
    stateFile = path.join(dir, "stack.json");
    writeLocalState(stateFile, {
      pid: process.pid,
      started_at: new Date().toISOString(),
      env: Object.fromEntries(STATE_ENV_KEYS.flatMap((k) => (stack.env[k] ? [[k, stack.env[k]]] : []))),
      urls: {
        receiver: stack.receiverUrl,
        fulfiller: stack.fulfillerUrl,
        sendgrid: stack.sendgrid.url,
        stripe: stack.stripe!.url,
      },
    });
  });
  after(async () => {
    await stack?.stop();
    await db?.terminate();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** `doctor --local` as a person runs it next to `npm start`: nothing set but what is given. */
  const doctor = (args: string[] = [], env: Record<string, string> = {}): Promise<CliRun> =>
    runCli(["doctor", "--local", ...args], {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      LOCAL_STATE_FILE: stateFile,
      ...env,
    });
  const problems = (run: CliRun) =>
    (JSON.parse(run.stdout) as CheckResult[]).filter((r) => r.status === "problem").map((r) => r.detail);

  it("when everything is in place, then every check passes or says why it cannot run here, and it exits 0", async () => {
    const run = await doctor(["--json"]);
    expect(run.code, run.stderr + run.stdout).to.equal(0);
    expect(run.stderr).to.include("using the local stack started by npm start");
    const results = JSON.parse(run.stdout) as CheckResult[];
    expect(results.filter((r) => r.status === "problem")).to.deep.equal([]);
    const details = results.map((r) => `${r.status} ${r.detail}`);
    expect(details).to.include.members([
      "ok STRIPE_API_KEY is set",
      `ok topic ${stack.names.topic} exists`,
      `ok ${stack.names.pushSubscription} pushes to ${stack.fulfillerUrl}/pubsub/push`,
      `ok ${stack.names.pushSubscription} dead-letters to ${stack.names.dlqTopic} after 5 attempts`,
      "ok it sends every event type the pipeline needs (8)",
      'ok FULFILMENT_PRODUCT_IDS: prod_LocalScale0001 is "Smart Scale"',
      "ok SendGrid accepts SENDGRID_API_KEY, and it may send (mail.send)",
      "skipped Pub/Sub service agent grants",
      "skipped TTL policy on stripe_events.expire_at",
      "skipped Cloud Run services, revisions and the reconcile schedule",
    ]);
    // DESIGN 5: the request budget's figure, from STRIPE_REQUESTS_PER_SECOND (default 20).
    expect(details.find((d) => d.includes("request budget"))).to.match(
      /^ok request budget 20 requests\/s per process \(STRIPE_REQUESTS_PER_SECOND\): at one read per order, about 20 orders\/s per fulfiller instance/,
    );
    const text = await doctor();
    expect(text.stdout).to.match(/^doctor: all \d+ checks passed, 4 skipped$/m);
  });

  it("when a product id is wrong, then it fails, naming the id", async () => {
    const run = await doctor(["--json"], { FULFILMENT_PRODUCT_IDS: "prod_LocalScale0001,prod_Missing1" });
    expect(run.code).to.equal(1);
    expect(problems(run)).to.deep.equal([
      "FULFILMENT_PRODUCT_IDS: prod_Missing1 does not exist for this test-mode key: no order would ship",
    ]);
  });

  it("when a secret is wrong, then it fails, naming which (Stripe's key, SendGrid's key, the webhook secret)", async () => {
    const stripe = await doctor(["--json"], { STRIPE_API_KEY: "sk_test_not_this_one" });
    expect(stripe.code).to.equal(1);
    expect(problems(stripe)).to.have.length(1);
    expect(problems(stripe)[0]).to.match(/^Stripe refuses STRIPE_API_KEY \(401: Invalid API Key/);
    const sendgrid = await doctor(["--json"], { SENDGRID_API_KEY: "SG.not-this-one" });
    expect(problems(sendgrid)).to.deep.equal(["SendGrid refuses SENDGRID_API_KEY (401)"]);
    const webhook = await doctor(["--json"], { STRIPE_WEBHOOK_SECRET: "sk_test_pasted_in_the_wrong_place" });
    expect(problems(webhook)).to.deep.equal([
      "STRIPE_WEBHOOK_SECRET is not webhook signing secrets (whsec_ and at least 16 characters), comma-separated",
    ]);
  });

  it("when the receiver's URL has no endpoint in Stripe, or the push subscription is another, then each is named", async () => {
    const run = await doctor(["--json"], {
      RECEIVER_URL: "https://stripe-receiver-123.europe-west1.run.app",
      PUBSUB_PUSH_SUBSCRIPTION: "no-such-subscription",
    });
    expect(run.code).to.equal(1);
    expect(problems(run)).to.deep.equal([
      "push subscription no-such-subscription does not exist",
      "no Stripe webhook endpoint for https://stripe-receiver-123.europe-west1.run.app/webhooks/stripe",
    ]);
  });

  it("when orders need review, then it says how many and how to resolve them", async () => {
    await seedOrder(db, `cs_test_${"D".repeat(58)}`, "needs_review", { reason: "email outcome unknown" });
    const run = await doctor();
    expect(run.code).to.equal(1);
    expect(run.stdout).to.include("PROBLEM  1 order(s) need review (an email may or may not have gone out)");
    expect(run.stdout).to.include("fix: npm run cli -- orders list --status needs_review");

    // As Cloud Build runs it after a deploy: the backlog is the business's, not the deploy's.
    const deploy = await doctor(["--deploy"]);
    expect(deploy.code, deploy.stdout).to.equal(0);
    expect(deploy.stdout).to.include(
      "WARN     1 order(s) need review (an email may or may not have gone out)",
    );
    expect(deploy.stdout).to.match(/^doctor: all \d+ checks passed, 1 warning\(s\), \d+ skipped$/m);
  });

  it("when the Cloud Run side is described (cli_env), then its checks run, and the Stripe endpoint is found under any of the receiver's URLs", async () => {
    const api = await new GoogleApisStandIn().start();
    try {
      const project = stack.project;
      const answers = healthyDeployment({ project });
      const receiver = answers[`/v2/projects/${project}/locations/europe-west1/services/stripe-receiver`] as {
        urls: string[];
      };
      // The endpoint in Stripe was registered under Cloud Run's other URL, not RECEIVER_URL.
      receiver.urls.push(stack.receiverUrl);
      for (const [p, body] of Object.entries(answers))
        api.answers.set(p.replace("shop-prod", "shop-prod"), body);
      const run = await doctor(["--json"], {
        RECEIVER_URL: "https://hooks.example.com",
        CLOUD_RUN_REGION: "europe-west1",
        RECEIVER_SERVICE: "stripe-receiver",
        FULFILLER_SERVICE: "stripe-fulfiller",
        RECONCILE_JOB: "stripe-reconcile",
        SCHEDULER_JOB: "stripe-reconcile",
        CLOUD_RUN_API_BASE: api.url,
        CLOUD_SCHEDULER_API_BASE: api.url,
      });
      const results = JSON.parse(run.stdout) as CheckResult[];
      const details = results.map((r) => `${r.status} ${r.detail}`);
      expect(details).to.include.members([
        "ok stripe-receiver (europe-west1): latest revision stripe-receiver-00007-abc is ready",
        "ok the last reconcile run (stripe-reconcile-8x2kq, 2026-12-04T03:18:40Z) succeeded",
        `ok webhook endpoint ${(results.find((r) => r.detail.startsWith("webhook endpoint"))?.detail ?? "").split(" ")[2]} for ${stack.receiverUrl}/webhooks/stripe is enabled`,
      ]);
      expect(api.requests).to.include(
        `GET /v2/projects/${project}/locations/europe-west1/services/stripe-fulfiller`,
      );
    } finally {
      await api.stop();
    }
  });
});
