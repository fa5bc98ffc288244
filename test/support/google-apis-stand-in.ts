import http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Cloud Run Admin API v2 and Cloud Scheduler v1 as `doctor` reads them: GET of a service,
 * a revision, a service's IAM policy, a job's executions and a scheduler job, answering
 * the JSON each API returns (field names as in the REST reference). `answers` maps a path
 * to a body, or to a status with no body (403 for a missing permission).
 */
export class GoogleApisStandIn {
  readonly answers = new Map<string, unknown>();
  readonly requests: string[] = [];
  private server: http.Server | undefined;
  url = "";

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const path = decodeURIComponent((req.url ?? "/").split("?")[0]!);
      this.requests.push(`${req.method} ${path}`);
      const answer = this.answers.get(path);
      if (typeof answer === "number") {
        res.writeHead(answer, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ error: { code: answer, status: answer === 403 ? "PERMISSION_DENIED" : "ERROR" } }),
        );
        return;
      }
      if (answer === undefined) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: 404, status: "NOT_FOUND", message: `${path} not found` } }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(answer));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** A healthy deployment, as the APIs would describe it: edit the parts a test breaks. */
export function healthyDeployment(options: { regions?: string[]; project?: string } = {}) {
  const regions = options.regions ?? ["europe-west1"];
  const P = `projects/${options.project ?? "shop-prod"}/locations`;
  const env = (pairs: Record<string, string>) =>
    Object.entries(pairs).map(([name, value]) => ({ name, value }));
  const fulfillerEnv = env({
    PUSH_AUTH: "cloud-run",
    PUSH_AUDIENCE: "stripe-fulfiller-push",
    PUSH_SERVICE_ACCOUNT: "stripe-push@shop-prod.iam.gserviceaccount.com",
  });
  const answers: Record<string, unknown> = {};
  for (const region of regions)
    answers[`/v2/${P}/${region}/services/stripe-receiver`] = {
      name: `${P}/${region}/services/stripe-receiver`,
      uri: `https://stripe-receiver-abc123-${region.slice(0, 2)}.a.run.app`,
      urls: [
        `https://stripe-receiver-123456789012.${region}.run.app`,
        `https://stripe-receiver-abc123-${region.slice(0, 2)}.a.run.app`,
      ],
      latestReadyRevision: `${P}/${region}/services/stripe-receiver/revisions/stripe-receiver-00007-abc`,
      latestCreatedRevision: `${P}/${region}/services/stripe-receiver/revisions/stripe-receiver-00007-abc`,
      terminalCondition: { type: "Ready", state: "CONDITION_SUCCEEDED" },
      invokerIamDisabled: true,
      trafficStatuses: [
        {
          type: "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
          revision: "stripe-receiver-00007-abc",
          percent: 100,
        },
      ],
      template: { containers: [{ env: env({ PUBSUB_TOPIC: "stripe-events" }) }] },
    };
  answers[`/v2/${P}/europe-west1/services/stripe-fulfiller`] = {
    name: `${P}/europe-west1/services/stripe-fulfiller`,
    uri: "https://stripe-fulfiller-abc123-ew.a.run.app",
    latestReadyRevision: `${P}/europe-west1/services/stripe-fulfiller/revisions/stripe-fulfiller-00009-xyz`,
    latestCreatedRevision: `${P}/europe-west1/services/stripe-fulfiller/revisions/stripe-fulfiller-00009-xyz`,
    terminalCondition: { type: "Ready", state: "CONDITION_SUCCEEDED" },
    invokerIamDisabled: false,
    trafficStatuses: [
      {
        type: "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
        revision: "stripe-fulfiller-00008-old",
        percent: 100,
      },
      {
        type: "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION",
        revision: "stripe-fulfiller-00009-xyz",
        percent: 0,
        tag: "candidate",
      },
    ],
    template: { containers: [{ env: fulfillerEnv }] },
  };
  answers[`/v2/${P}/europe-west1/services/stripe-fulfiller/revisions/stripe-fulfiller-00009-xyz`] = {
    name: `${P}/europe-west1/services/stripe-fulfiller/revisions/stripe-fulfiller-00009-xyz`,
    conditions: [{ type: "Ready", state: "CONDITION_SUCCEEDED" }],
    containers: [{ env: fulfillerEnv }],
  };
  answers[`/v2/${P}/europe-west1/services/stripe-fulfiller:getIamPolicy`] = {
    bindings: [
      {
        role: "roles/run.invoker",
        members: ["serviceAccount:stripe-push@shop-prod.iam.gserviceaccount.com"],
      },
    ],
  };
  answers[`/v1/${P}/europe-west1/jobs/stripe-reconcile`] = {
    name: `${P}/europe-west1/jobs/stripe-reconcile`,
    state: "ENABLED",
    lastAttemptTime: "2026-12-04T03:17:00Z",
    status: {},
  };
  answers[`/v2/${P}/europe-west1/jobs/stripe-reconcile/executions`] = {
    executions: [
      {
        name: `${P}/europe-west1/jobs/stripe-reconcile/executions/stripe-reconcile-8x2kq`,
        completionTime: "2026-12-04T03:18:40Z",
        succeededCount: 1,
        failedCount: 0,
      },
      {
        name: `${P}/europe-west1/jobs/stripe-reconcile/executions/stripe-reconcile-7h1zd`,
        completionTime: "2026-12-04T02:18:31Z",
        succeededCount: 0,
        failedCount: 1,
      },
    ],
  };
  return answers;
}
