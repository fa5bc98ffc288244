import { expect } from "chai";
import {
  checkCloudRun,
  googleGet,
  type CloudRunTargets,
} from "../../../services/cli/commands/doctor/cloud-run.js";
import type { CheckResult } from "../../../services/cli/commands/doctor/results.js";
import { GoogleApisStandIn, healthyDeployment } from "../../support/google-apis-stand-in.js";

const P = "projects/shop-prod/locations";

describe("unit: doctor's Cloud Run side (DESIGN 8) against the Cloud Run and Cloud Scheduler REST formats", () => {
  let api: GoogleApisStandIn;
  let targets: CloudRunTargets;

  beforeEach(async () => {
    api = await new GoogleApisStandIn().start();
    for (const [path, body] of Object.entries(healthyDeployment())) api.answers.set(path, body);
    targets = {
      project: "shop-prod",
      region: "europe-west1",
      receiverService: "stripe-receiver",
      receiverRegions: ["europe-west1"],
      fulfillerService: "stripe-fulfiller",
      reconcileJob: "stripe-reconcile",
      schedulerJob: "stripe-reconcile",
      pushAuth: "cloud-run",
      subscription: {
        audience: "stripe-fulfiller-push",
        serviceAccount: "stripe-push@shop-prod.iam.gserviceaccount.com",
      },
      runBase: api.url,
      schedulerBase: api.url,
    };
  });
  afterEach(() => api.stop());

  async function run(options: { candidateTag?: string } = {}) {
    const results: CheckResult[] = [];
    const found = await checkCloudRun(results, targets, googleGet(), options);
    return { results, found, lines: results.map((r) => `${r.status} ${r.detail}`) };
  }
  const problems = (results: CheckResult[]) => results.filter((r) => r.status === "problem");

  it("when everything is in place, then every check is ok, and both of the receiver's Cloud Run URLs are returned for the Stripe endpoint check", async () => {
    const { results, found, lines } = await run();
    expect(problems(results), lines.join("\n")).to.deep.equal([]);
    expect(lines).to.include.members([
      "ok stripe-receiver (europe-west1): latest revision stripe-receiver-00007-abc is ready",
      "ok stripe-receiver (europe-west1) is public through invoker_iam_disabled (no allUsers grant)",
      "ok stripe-fulfiller (europe-west1): latest revision stripe-fulfiller-00009-xyz is ready",
      "ok stripe-fulfiller (europe-west1): PUSH_AUDIENCE is the subscription's audience (stripe-fulfiller-push)",
      "ok stripe-fulfiller (europe-west1): PUSH_SERVICE_ACCOUNT is the subscription's push account (stripe-push@shop-prod.iam.gserviceaccount.com)",
      "ok stripe-fulfiller (europe-west1): only Cloud Run-verified callers get in, and stripe-push@shop-prod.iam.gserviceaccount.com may invoke it",
      "ok schedule stripe-reconcile is enabled",
      "ok its last attempt (2026-12-04T03:17:00Z) started the job",
      "ok the last reconcile run (stripe-reconcile-8x2kq, 2026-12-04T03:18:40Z) succeeded",
    ]);
    expect(found.receiverUrls).to.include.members([
      "https://stripe-receiver-123456789012.europe-west1.run.app",
      "https://stripe-receiver-abc123-eu.a.run.app",
    ]);
  });

  it("when deploying, then the revision tagged candidate is the one checked, its readiness and its environment", async () => {
    const { lines } = await run({ candidateTag: "candidate" });
    expect(lines).to.include(
      "ok stripe-fulfiller (europe-west1): candidate revision stripe-fulfiller-00009-xyz is ready (0% of traffic)",
    );
    const revision = `/v2/${P}/europe-west1/services/stripe-fulfiller/revisions/stripe-fulfiller-00009-xyz`;
    api.answers.set(revision, {
      conditions: [
        {
          type: "Ready",
          state: "CONDITION_FAILED",
          message: "container failed to start: STRIPE_API_KEY: is required",
        },
      ],
      containers: [{ env: [{ name: "PUSH_AUDIENCE", value: "someone-else" }] }],
    });
    const failed = await run({ candidateTag: "candidate" });
    expect(problems(failed.results).map((r) => r.detail)).to.deep.equal([
      "stripe-fulfiller (europe-west1): candidate revision stripe-fulfiller-00009-xyz is not ready: container failed to start: STRIPE_API_KEY: is required",
      'stripe-fulfiller (europe-west1): PUSH_AUDIENCE is "someone-else", the subscription\'s audience is "stripe-fulfiller-push": every push would be refused',
      'stripe-fulfiller (europe-west1): PUSH_SERVICE_ACCOUNT is "unset", the subscription\'s push account is "stripe-push@shop-prod.iam.gserviceaccount.com": every push would be refused',
    ]);
  });

  it("when the latest revision failed, then it is a problem that names the last ready one", async () => {
    const path = `/v2/${P}/europe-west1/services/stripe-receiver`;
    const svc = api.answers.get(path) as Record<string, unknown>;
    api.answers.set(path, {
      ...svc,
      latestCreatedRevision: `${P}/europe-west1/services/stripe-receiver/revisions/stripe-receiver-00008-bad`,
      terminalCondition: {
        type: "Ready",
        state: "CONDITION_FAILED",
        message: "Revision failed its startup probe",
      },
    });
    const { results } = await run();
    expect(problems(results).map((r) => r.detail)).to.deep.equal([
      "stripe-receiver (europe-west1): latest revision stripe-receiver-00008-bad is not ready (Revision failed its startup probe); stripe-receiver-00007-abc is the last that was",
    ]);
  });

  it("when the invoker settings do not match PUSH_AUTH, or the receiver is not public, then each is a problem", async () => {
    const receiver = `/v2/${P}/europe-west1/services/stripe-receiver`;
    api.answers.set(receiver, { ...(api.answers.get(receiver) as object), invokerIamDisabled: false });
    api.answers.set(`/v2/${P}/europe-west1/services/stripe-fulfiller:getIamPolicy`, {
      bindings: [{ role: "roles/run.invoker", members: ["allUsers"] }],
    });
    const { results } = await run();
    expect(problems(results).map((r) => r.detail)).to.deep.equal([
      "stripe-receiver (europe-west1) has Cloud Run's invoker check on: Stripe cannot call it (an allUsers grant is refused under domain-restricted sharing)",
      "stripe-fulfiller (europe-west1): stripe-push@shop-prod.iam.gserviceaccount.com may not invoke it: Cloud Run refuses every push",
      "stripe-fulfiller (europe-west1): is public (allUsers may invoke)",
    ]);

    targets.pushAuth = "oidc";
    const fulfiller = `/v2/${P}/europe-west1/services/stripe-fulfiller`;
    const svc = api.answers.get(fulfiller) as {
      template: { containers: { env: { name: string; value: string }[] }[] };
    };
    svc.template.containers[0]!.env = svc.template.containers[0]!.env.map((e) =>
      e.name === "PUSH_AUTH" ? { ...e, value: "oidc" } : e,
    );
    const oidc = await run();
    expect(problems(oidc.results).map((r) => r.detail)).to.include(
      "stripe-fulfiller (europe-west1): PUSH_AUTH=oidc but Cloud Run's invoker check is on: it strips the token's signature and the app refuses every push",
    );
  });

  it("when the schedule is paused, its last attempt failed, or the last reconcile run failed, then each is a problem with its command", async () => {
    api.answers.set(`/v1/${P}/europe-west1/jobs/stripe-reconcile`, {
      state: "PAUSED",
      lastAttemptTime: "2026-12-04T03:17:00Z",
      status: { code: 7, message: "The principal lacks run.jobs.run" },
    });
    api.answers.set(`/v2/${P}/europe-west1/jobs/stripe-reconcile/executions`, {
      executions: [
        {
          name: `${P}/europe-west1/jobs/stripe-reconcile/executions/e-old`,
          completionTime: "2026-12-04T02:18:00Z",
          succeededCount: 1,
        },
        {
          name: `${P}/europe-west1/jobs/stripe-reconcile/executions/e-new`,
          completionTime: "2026-12-04T03:18:00Z",
          failedCount: 1,
        },
        { name: `${P}/europe-west1/jobs/stripe-reconcile/executions/e-running` },
      ],
    });
    const found = problems((await run()).results);
    expect(found.map((r) => r.detail)).to.deep.equal([
      "schedule stripe-reconcile is PAUSED",
      "its last attempt (2026-12-04T03:17:00Z) failed: The principal lacks run.jobs.run",
      "the last reconcile run (e-new, 2026-12-04T03:18:00Z) failed",
    ]);
    expect(found[0]!.fix).to.equal("gcloud scheduler jobs resume stripe-reconcile --location europe-west1");
    expect(found[2]!.fix).to.include("gcloud run jobs execute stripe-reconcile --region europe-west1");
  });

  it("when the caller lacks a permission, then that check is skipped, naming it, and not a problem", async () => {
    api.answers.set(`/v2/${P}/europe-west1/services/stripe-fulfiller:getIamPolicy`, 403);
    api.answers.set(`/v2/${P}/europe-west1/jobs/stripe-reconcile/executions`, 403);
    api.answers.set(`/v1/${P}/europe-west1/jobs/stripe-reconcile`, 401);
    const { results } = await run();
    expect(problems(results)).to.deep.equal([]);
    const skippedOnes = results.filter((r) => r.status === "skipped").map((r) => `${r.detail}: ${r.fix}`);
    expect(skippedOnes).to.deep.equal([
      "stripe-fulfiller (europe-west1): invoker binding: needs run.services.getIamPolicy",
      "Cloud Scheduler job stripe-reconcile: needs cloudscheduler.jobs.get",
      "reconcile executions of stripe-reconcile: needs run.executions.list",
    ]);
  });

  it("when the receiver runs in several regions, then each is checked and every region's URLs are returned; a missing one is a problem", async () => {
    for (const [path, body] of Object.entries(
      healthyDeployment({ regions: ["europe-west1", "us-central1"] }),
    ))
      api.answers.set(path, body);
    targets.receiverRegions = ["europe-west1", "us-central1"];
    const { found, lines } = await run();
    expect(lines).to.include(
      "ok stripe-receiver (us-central1): latest revision stripe-receiver-00007-abc is ready",
    );
    expect(found.receiverUrls).to.include("https://stripe-receiver-123456789012.us-central1.run.app");
    targets.receiverRegions = ["europe-west1", "asia-east1"];
    const missing = problems((await run()).results);
    expect(missing.map((r) => r.detail)).to.deep.equal([
      "Cloud Run service stripe-receiver (asia-east1): not found",
    ]);
  });
});
