/**
 * `doctor`'s Cloud Run side (DESIGN 8): each service's latest (or candidate) revision is
 * ready, the fulfiller's environment matches the push subscription's audience and push
 * account, the invoker setting matches PUSH_AUTH, the receiver is public without an
 * allUsers grant, and the scheduled reconcile's schedule and last execution succeeded.
 * Read through the Cloud Run Admin API v2 and Cloud Scheduler v1 over REST; a permission
 * the caller lacks is "skipped: needs X", never a problem.
 */
import { ok, problem, skipped, type CheckResult } from "./results.js";

type Result = Omit<CheckResult, "check">;

/** One GET against a Google REST API; `status` as the API answered it. */
export type GoogleGet = (url: string) => Promise<{ status: number; body: unknown }>;

/**
 * Google's REST APIs with the caller's application default credentials; a loopback base
 * (the tests' stand-in, which speaks the same JSON) is called without them.
 */
export function googleGet(): GoogleGet {
  let auth: Promise<{ request: (o: { url: string }) => Promise<{ status: number; data: unknown }> }> | null =
    null;
  return async (url) => {
    if (/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(url)) {
      const response = await fetch(url);
      return { status: response.status, body: await response.json().catch(() => null) };
    }
    auth ??= import("google-auth-library").then(({ GoogleAuth }) =>
      new GoogleAuth({ scopes: ["https://www.googleapis.com/auth/cloud-platform"] }).getClient(),
    );
    try {
      const response = await (await auth).request({ url });
      return { status: response.status, body: response.data };
    } catch (err) {
      const status = (err as { response?: { status?: number; data?: unknown } }).response?.status;
      if (status) return { status, body: (err as { response: { data?: unknown } }).response.data ?? null };
      throw err;
    }
  };
}

export interface CloudRunTargets {
  project: string;
  region: string;
  receiverService: string;
  /** Every region the receiver runs in (region first). */
  receiverRegions: string[];
  fulfillerService: string;
  reconcileJob: string | undefined;
  schedulerJob: string | undefined;
  pushAuth: "cloud-run" | "oidc" | "none";
  /** What the push subscription signs tokens with, as doctor read it (undefined: not read). */
  subscription: { audience: string | undefined; serviceAccount: string | undefined } | undefined;
  runBase: string;
  schedulerBase: string;
}

interface EnvVar {
  name?: string;
  value?: string;
}
interface Condition {
  type?: string;
  state?: string;
  message?: string;
}
interface TrafficStatus {
  revision?: string;
  percent?: number;
  tag?: string;
  uri?: string;
}
interface RunService {
  uri?: string;
  urls?: string[];
  latestReadyRevision?: string;
  latestCreatedRevision?: string;
  terminalCondition?: Condition;
  trafficStatuses?: TrafficStatus[];
  invokerIamDisabled?: boolean;
  template?: { containers?: { env?: EnvVar[] }[] };
}
interface Revision {
  conditions?: Condition[];
  containers?: { env?: EnvVar[] }[];
}

const short = (name: string | undefined) => name?.split("/").pop() ?? "?";

function envOf(containers: { env?: EnvVar[] }[] | undefined): Map<string, string> {
  return new Map((containers?.[0]?.env ?? []).flatMap((e) => (e.name ? [[e.name, e.value ?? ""]] : [])));
}

/** What a 401/403/404 from Google means here, or null for an answer to read. */
function refusal(status: number, what: string, permission: string, missingFix: string): Result | null {
  if (status === 401 || status === 403) return skipped(what, `needs ${permission}`);
  if (status === 404) return problem(`${what}: not found`, missingFix);
  if (status >= 400)
    return problem(`${what}: Google answered ${status}`, "retry; check the project and region");
  return null;
}

/**
 * The checks, appended to `results`; with `deploy`, the revision tagged `candidate` (no
 * traffic yet) is the one checked where a service has it. Returns the receiver's URLs
 * (both of Cloud Run's default URLs, in every region) for the Stripe endpoint check.
 */
export async function checkCloudRun(
  results: CheckResult[],
  t: CloudRunTargets,
  get: GoogleGet,
  options: { candidateTag?: string | undefined } = {},
): Promise<{ receiverUrls: string[] }> {
  const push = (check: string, r: Result | Result[]) => {
    for (const one of Array.isArray(r) ? r : [r]) results.push({ check, ...one });
  };
  const guard = async (check: string, fn: () => Promise<Result | Result[]>) => {
    try {
      push(check, await fn());
    } catch (err) {
      push(
        check,
        problem(`${check}: ${(err as Error).message}`, "check the network and the caller's credentials"),
      );
    }
  };
  const serviceUrl = (region: string, service: string) =>
    `${t.runBase}/v2/projects/${t.project}/locations/${region}/services/${service}`;
  const receiverUrls: string[] = [];

  const targets = [
    ...t.receiverRegions.map((region) => ({ region, service: t.receiverService, role: "receiver" as const })),
    { region: t.region, service: t.fulfillerService, role: "fulfiller" as const },
  ];
  for (const target of targets) {
    const where = `${target.service} (${target.region})`;
    await guard("cloud run", async () => {
      const { status, body } = await get(serviceUrl(target.region, target.service));
      const refused = refusal(
        status,
        `Cloud Run service ${where}`,
        "run.services.get",
        "terraform apply (run.tf)",
      );
      if (refused) return refused;
      const svc = body as RunService;
      if (target.role === "receiver")
        receiverUrls.push(...[svc.uri, ...(svc.urls ?? [])].filter((u): u is string => !!u));
      const out: Result[] = [];

      // The revision this deploy checks: the candidate (tagged, no traffic yet), else the latest.
      const candidate = options.candidateTag
        ? svc.trafficStatuses?.find((s) => s.tag === options.candidateTag)
        : undefined;
      let env = envOf(svc.template?.containers);
      if (candidate?.revision) {
        const name = candidate.revision.includes("/")
          ? candidate.revision
          : `projects/${t.project}/locations/${target.region}/services/${target.service}/revisions/${candidate.revision}`;
        const rev = await get(`${t.runBase}/v2/${name}`);
        const refusedRev = refusal(
          rev.status,
          `revision ${short(name)}`,
          "run.revisions.get",
          "deploy again",
        );
        if (refusedRev) out.push(refusedRev);
        else {
          const revision = rev.body as Revision;
          const ready = revision.conditions?.find((c) => c.type === "Ready");
          out.push(
            ready?.state === "CONDITION_SUCCEEDED"
              ? ok(
                  `${where}: candidate revision ${short(name)} is ready (${candidate.percent ?? 0}% of traffic)`,
                )
              : problem(
                  `${where}: candidate revision ${short(name)} is not ready: ${ready?.message ?? ready?.state ?? "no Ready condition"}`,
                  "read the revision's logs (its start-up names the variable or secret at fault); the serving revision is untouched",
                ),
          );
          env = envOf(revision.containers);
        }
      } else {
        const ready = svc.terminalCondition;
        const latest = short(svc.latestCreatedRevision);
        out.push(
          ready?.state === "CONDITION_SUCCEEDED" && svc.latestReadyRevision === svc.latestCreatedRevision
            ? ok(`${where}: latest revision ${latest} is ready`)
            : problem(
                `${where}: latest revision ${latest} is not ready (${ready?.message ?? ready?.state ?? "no condition"}); ${short(svc.latestReadyRevision)} is the last that was`,
                "read the revision's logs; `gcloud run services update-traffic` keeps traffic on the last good one",
              ),
        );
      }

      if (target.role === "receiver") {
        out.push(
          svc.invokerIamDisabled
            ? ok(`${where} is public through invoker_iam_disabled (no allUsers grant)`)
            : problem(
                `${where} has Cloud Run's invoker check on: Stripe cannot call it (an allUsers grant is refused under domain-restricted sharing)`,
                "terraform apply (run.tf sets invoker_iam_disabled on the receiver)",
              ),
        );
        return out;
      }

      // The fulfiller: its environment against the subscription's token, and who may invoke it.
      if (!t.subscription)
        out.push(skipped(`${where}: push token settings`, "the push subscription was not read (above)"));
      else
        for (const [key, expected, label] of [
          ["PUSH_AUDIENCE", t.subscription.audience, "audience"],
          ["PUSH_SERVICE_ACCOUNT", t.subscription.serviceAccount, "push account"],
        ] as const) {
          const actual = env.get(key);
          out.push(
            actual !== undefined && actual === expected
              ? ok(`${where}: ${key} is the subscription's ${label} (${actual})`)
              : problem(
                  `${where}: ${key} is "${actual ?? "unset"}", the subscription's ${label} is "${expected ?? "none"}": every push would be refused`,
                  "terraform apply (run.tf and pubsub.tf take both from the same variable)",
                ),
          );
        }
      const mode = env.get("PUSH_AUTH") ?? "cloud-run";
      if (mode !== t.pushAuth)
        out.push(
          problem(
            `${where}: PUSH_AUTH is ${mode}, this environment says ${t.pushAuth}`,
            "terraform output -raw cli_env names the deployed push_auth",
          ),
        );
      if (mode === "oidc")
        out.push(
          svc.invokerIamDisabled
            ? ok(`${where}: PUSH_AUTH=oidc and Cloud Run's invoker check is off (the app verifies the token)`)
            : problem(
                `${where}: PUSH_AUTH=oidc but Cloud Run's invoker check is on: it strips the token's signature and the app refuses every push`,
                "terraform apply (run.tf turns invoker_iam_disabled on with push_auth = oidc)",
              ),
        );
      else if (svc.invokerIamDisabled)
        out.push(
          problem(
            `${where}: PUSH_AUTH=cloud-run but Cloud Run's invoker check is off: anyone can post pushes`,
            "terraform apply (run.tf)",
          ),
        );
      else {
        const policy = await get(`${serviceUrl(target.region, target.service)}:getIamPolicy`);
        const refusedPolicy = refusal(
          policy.status,
          `${where}: invoker binding`,
          "run.services.getIamPolicy",
          "terraform apply",
        );
        if (refusedPolicy) out.push(refusedPolicy);
        else {
          const bindings =
            (policy.body as { bindings?: { role?: string; members?: string[] }[] })?.bindings ?? [];
          const member = `serviceAccount:${t.subscription?.serviceAccount ?? env.get("PUSH_SERVICE_ACCOUNT")}`;
          const invokers = bindings
            .filter((b) => b.role === "roles/run.invoker")
            .flatMap((b) => b.members ?? []);
          out.push(
            invokers.includes(member)
              ? ok(`${where}: only Cloud Run-verified callers get in, and ${member.slice(15)} may invoke it`)
              : problem(
                  `${where}: ${member.slice(15)} may not invoke it: Cloud Run refuses every push`,
                  "terraform apply (iam.tf push_invokes_fulfiller)",
                ),
          );
          if (invokers.includes("allUsers") || invokers.includes("allAuthenticatedUsers"))
            out.push(
              problem(`${where}: is public (allUsers may invoke)`, "remove the binding; terraform apply"),
            );
        }
      }
      return out;
    });
  }

  if (!t.schedulerJob || !t.reconcileJob) {
    push(
      "reconcile",
      skipped(
        "the scheduled reconcile",
        "SCHEDULER_JOB and RECONCILE_JOB are not set (terraform output -raw cli_env)",
      ),
    );
    return { receiverUrls };
  }
  const schedulerJob = t.schedulerJob;
  const reconcileJob = t.reconcileJob;
  await guard("reconcile", async () => {
    const { status, body } = await get(
      `${t.schedulerBase}/v1/projects/${t.project}/locations/${t.region}/jobs/${schedulerJob}`,
    );
    const refused = refusal(
      status,
      `Cloud Scheduler job ${schedulerJob}`,
      "cloudscheduler.jobs.get",
      "terraform apply (reconcile.tf)",
    );
    if (refused) return refused;
    const job = body as {
      state?: string;
      status?: { code?: number; message?: string };
      lastAttemptTime?: string;
    };
    const out: Result[] = [
      job.state === "ENABLED"
        ? ok(`schedule ${schedulerJob} is enabled`)
        : problem(
            `schedule ${schedulerJob} is ${job.state ?? "in an unknown state"}`,
            `gcloud scheduler jobs resume ${schedulerJob} --location ${t.region}`,
          ),
    ];
    if (job.lastAttemptTime)
      out.push(
        !job.status?.code
          ? ok(`its last attempt (${job.lastAttemptTime}) started the job`)
          : problem(
              `its last attempt (${job.lastAttemptTime}) failed: ${job.status.message ?? `code ${job.status.code}`}`,
              "check the scheduler account's run.invoker on the job (terraform apply)",
            ),
      );
    return out;
  });
  await guard("reconcile", async () => {
    const { status, body } = await get(
      `${t.runBase}/v2/projects/${t.project}/locations/${t.region}/jobs/${reconcileJob}/executions?pageSize=20`,
    );
    const refused = refusal(
      status,
      `reconcile executions of ${reconcileJob}`,
      "run.executions.list",
      "terraform apply (reconcile.tf)",
    );
    if (refused) return refused;
    const executions = ((body as { executions?: Execution[] })?.executions ?? [])
      .filter((e) => e.completionTime)
      .sort((a, b) => Date.parse(b.completionTime!) - Date.parse(a.completionTime!));
    const last = executions[0];
    if (!last) return ok(`${reconcileJob} has not completed a run yet`);
    return (last.failedCount ?? 0) > 0 || (last.succeededCount ?? 0) === 0
      ? problem(
          `the last reconcile run (${short(last.name)}, ${last.completionTime}) failed`,
          `gcloud run jobs executions describe ${short(last.name)} --region ${t.region}; fix, then gcloud run jobs execute ${reconcileJob} --region ${t.region}`,
        )
      : ok(`the last reconcile run (${short(last.name)}, ${last.completionTime}) succeeded`);
  });
  return { receiverUrls };
}

interface Execution {
  name?: string;
  completionTime?: string;
  succeededCount?: number;
  failedCount?: number;
}
