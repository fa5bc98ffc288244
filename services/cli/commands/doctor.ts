/**
 * `doctor`: checks a deployment end to end, read-only, one line per check, each problem
 * with how to fix it (DESIGN section 6). Run it after every apply. Against the local
 * stack the stand-ins answer the same calls; what the emulators cannot show (IAM, TTL
 * policies) is reported as skipped, never as passed.
 */
import { Command } from "commander";
import type { PubSub } from "@google-cloud/pubsub";
import type { Firestore } from "@google-cloud/firestore";
import type Stripe from "stripe";
import * as v from "valibot";
import { errorMessage } from "../../common/errors.js";
import { fields, parseConfig, type Env } from "../../common/config.js";
import { cliBudget } from "../config.js";
import { createSecretManagerClient, isSecretReference, resolveSecrets } from "../../common/secrets.js";
import { withDeadline } from "../../common/pubsub.js";
import { handledEventTypes, isLiveKey } from "../../fulfiller/classify-event.js";
import type { FirestoreOrderStore } from "../../fulfiller/adapters/firestore-order-store.js";
import { STRIPE_API_VERSION } from "../../common/stripe-api-version.js";
import { CALL_TIMEOUT_MS } from "../pipeline-clients.js";
import { checkCloudRun, googleGet, type GoogleGet } from "./doctor-cloud-run.js";

import { ok, problem, skipped, type CheckResult, type CheckStatus } from "./doctor-results.js";

export type { CheckResult, CheckStatus } from "./doctor-results.js";

const schema = v.object({
  GOOGLE_CLOUD_PROJECT: v.string("is required: the project to check"),
  PUBSUB_TOPIC: v.optional(v.string(), "stripe-events"),
  PUBSUB_DLQ_TOPIC: v.optional(v.string(), "stripe-events-dlq"),
  PUBSUB_DLQ_SUBSCRIPTION: v.optional(v.string(), "stripe-events-dlq-sub"),
  PUBSUB_PUSH_SUBSCRIPTION: v.optional(v.string(), "stripe-events-push"),
  PUSH_AUDIENCE: v.optional(v.string()),
  /** The receiver's base URL (`terraform output -raw receiver_url`): the webhook endpoint must point at it. */
  RECEIVER_URL: v.optional(fields.url()),
  STRIPE_API_BASE: v.optional(fields.url()),
  SENDGRID_API_BASE: v.optional(fields.url()),
  FULFILMENT_PRODUCT_IDS: fields.productIds(),
  /** Where the Cloud Run side is (terraform output -raw cli_env); unset: those checks are skipped. */
  CLOUD_RUN_REGION: v.optional(v.string()),
  RECEIVER_SERVICE: v.optional(v.string()),
  RECEIVER_REGIONS: fields.optionalList(),
  FULFILLER_SERVICE: v.optional(v.string()),
  RECONCILE_JOB: v.optional(v.string()),
  SCHEDULER_JOB: v.optional(v.string()),
  PUSH_AUTH: v.optional(
    v.picklist(["cloud-run", "oidc", "none"], "must be cloud-run, oidc or none"),
    "cloud-run",
  ),
  CLOUD_RUN_API_BASE: v.optional(fields.url(), "https://run.googleapis.com"),
  CLOUD_SCHEDULER_API_BASE: v.optional(fields.url(), "https://cloudscheduler.googleapis.com"),
  /** Terraform's per-instance share of the account's Stripe budget (output `stripe_requests_per_second_per_instance`). */
  STRIPE_REQUESTS_PER_SECOND: fields.positiveRate(20),
  PUBSUB_EMULATOR_HOST: v.optional(v.string()),
  FIRESTORE_EMULATOR_HOST: v.optional(v.string()),
});
type DoctorConfig = v.InferOutput<typeof schema>;

const STRIPE_KEY = fields.stripeKey();
const WEBHOOK_SECRETS = fields.webhookSecrets();
const SECRETS = {
  STRIPE_API_KEY: {
    valid: (value: string) => v.is(STRIPE_KEY, value),
    shape: "a Stripe secret (sk_) or restricted (rk_) key",
  },
  STRIPE_WEBHOOK_SECRET: {
    valid: (value: string) => v.is(WEBHOOK_SECRETS, value),
    shape: "webhook signing secrets (whsec_ and at least 16 characters), comma-separated",
  },
  SENDGRID_API_KEY: { valid: (value: string) => value.trim().length > 0, shape: "a SendGrid API key" },
} as const;
type SecretName = keyof typeof SECRETS;

/** Runs one check; an exception is a problem with its message, never a crash of the whole run. */
async function check(
  results: CheckResult[],
  name: string,
  fn: () =>
    | Omit<CheckResult, "check">
    | Omit<CheckResult, "check">[]
    | Promise<Omit<CheckResult, "check"> | Omit<CheckResult, "check">[]>,
  fixOnError: string,
): Promise<void> {
  try {
    const out = await withDeadline(Promise.resolve().then(fn), CALL_TIMEOUT_MS, name);
    for (const r of Array.isArray(out) ? out : [out]) results.push({ check: name, ...r });
  } catch (err) {
    results.push({ check: name, status: "problem", detail: errorMessage(err), fix: fixOnError });
  }
}

function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** Resolves each secret on its own, so one that does not resolve is one problem line. */
async function resolveSecret(
  env: Env,
  name: SecretName,
): Promise<{ value?: string; result: Omit<CheckResult, "check"> }> {
  const raw = env[name];
  if (!raw?.trim())
    return { result: problem(`${name} is not set`, `set ${name} (an sm://SECRET reference in production)`) };
  let value = raw;
  if (isSecretReference(raw)) {
    try {
      const resolved = await resolveSecrets(
        "doctor",
        { GOOGLE_CLOUD_PROJECT: env.GOOGLE_CLOUD_PROJECT, [name]: raw },
        createSecretManagerClient,
      );
      value = resolved[name] ?? "";
    } catch (err) {
      return {
        result: problem(
          `${name}: ${raw} does not resolve: ${errorMessage(err).split("\n").slice(-1)[0]?.trim()}`,
          `add a version (gcloud secrets versions add SECRET --data-file=-) and grant this identity secretmanager.secretAccessor on it`,
        ),
      };
    }
  }
  if (!SECRETS[name].valid(value))
    return {
      value,
      result: problem(`${name} is not ${SECRETS[name].shape}`, `store ${SECRETS[name].shape} in ${name}`),
    };
  return {
    value,
    result: ok(`${name} ${isSecretReference(raw) ? `resolves (${raw})` : "is set"}`),
  };
}

export interface DoctorDeps {
  env: Env;
  /** For tests: the Stripe client to use instead of one built from the key. */
  stripe?: Stripe;
  /**
   * After a deploy, before traffic moves (cloudbuild.yaml): the revisions tagged
   * `candidateTag` are the ones checked, and backlog (dead letters, orders in review or
   * undelivered) is a warning: it is the business's, not the deploy's.
   */
  deploy?: { candidateTag?: string | undefined };
  /** Google's REST APIs (Cloud Run, Cloud Scheduler); default: with application credentials. */
  googleGet?: GoogleGet;
}

/** Checks that report operational backlog, not the deployment's wiring. */
const BACKLOG_CHECKS = new Set(["dead letters", "orders"]);

/** What one check group learnt that a later one needs. */
interface Seen {
  subscription?: { audience: string | undefined; serviceAccount: string | undefined };
  receiverUrls: string[];
}

export async function runDoctor(deps: DoctorDeps): Promise<CheckResult[]> {
  const config: DoctorConfig = parseConfig("doctor", schema, deps.env);
  const results: CheckResult[] = [];
  const emulated = !!config.PUBSUB_EMULATOR_HOST;
  // Loaded here, not with the command's definition: `--help` and the other commands do without them.
  const [{ PubSub }, { Firestore }, { FirestoreOrderStore }] = await Promise.all([
    import("@google-cloud/pubsub"),
    import("@google-cloud/firestore"),
    import("../../fulfiller/adapters/firestore-order-store.js"),
  ]);
  const pubsub = new PubSub({ projectId: config.GOOGLE_CLOUD_PROJECT });
  const db = new Firestore({ projectId: config.GOOGLE_CLOUD_PROJECT, ignoreUndefinedProperties: true });
  const store = new FirestoreOrderStore(db);
  try {
    // Secrets first: the Stripe and SendGrid checks need them.
    const secrets: Partial<Record<SecretName, string>> = {};
    for (const name of Object.keys(SECRETS) as SecretName[]) {
      const { value, result } = await resolveSecret(deps.env, name);
      results.push({ check: "secret", ...result });
      if (result.status === "ok") secrets[name] = value;
    }

    const seen: Seen = { receiverUrls: [] };
    await checkPubSub(results, pubsub, config, emulated, seen);
    if (config.CLOUD_RUN_REGION && config.RECEIVER_SERVICE && config.FULFILLER_SERVICE) {
      const cloudRun = await checkCloudRun(
        results,
        {
          project: config.GOOGLE_CLOUD_PROJECT,
          region: config.CLOUD_RUN_REGION,
          receiverService: config.RECEIVER_SERVICE,
          receiverRegions: config.RECEIVER_REGIONS.length
            ? config.RECEIVER_REGIONS
            : [config.CLOUD_RUN_REGION],
          fulfillerService: config.FULFILLER_SERVICE,
          reconcileJob: config.RECONCILE_JOB,
          schedulerJob: config.SCHEDULER_JOB,
          pushAuth: config.PUSH_AUTH,
          subscription: seen.subscription,
          runBase: config.CLOUD_RUN_API_BASE.replace(/\/$/, ""),
          schedulerBase: config.CLOUD_SCHEDULER_API_BASE.replace(/\/$/, ""),
        },
        deps.googleGet ?? googleGet(),
        { candidateTag: deps.deploy?.candidateTag },
      );
      seen.receiverUrls = cloudRun.receiverUrls;
    } else {
      results.push({
        check: "cloud run",
        ...skipped(
          "Cloud Run services, revisions and the reconcile schedule",
          emulated
            ? "the local stack runs no Cloud Run"
            : "CLOUD_RUN_REGION, RECEIVER_SERVICE and FULFILLER_SERVICE are not set (terraform output -raw cli_env)",
        ),
      });
    }
    await checkFirestore(results, db, store, config);
    await checkStripe(results, config, secrets.STRIPE_API_KEY, deps.stripe, seen);
    await checkSendGrid(results, config, secrets.SENDGRID_API_KEY);
    // A deploy is judged on its wiring; the backlog is reported, not held against it.
    if (deps.deploy)
      for (const r of results)
        if (r.status === "problem" && BACKLOG_CHECKS.has(r.check)) r.status = "warning";
    return results;
  } finally {
    await pubsub.close().catch(() => {});
    await db.terminate().catch(() => {});
  }
}

async function checkPubSub(
  results: CheckResult[],
  pubsub: PubSub,
  c: DoctorConfig,
  emulated: boolean,
  seen: Seen,
): Promise<void> {
  const topicPath = (name: string) => `projects/${c.GOOGLE_CLOUD_PROJECT}/topics/${name}`;
  for (const topic of [c.PUBSUB_TOPIC, c.PUBSUB_DLQ_TOPIC]) {
    await check(
      results,
      "topic",
      async () => {
        const [exists] = await pubsub.topic(topic).exists();
        return exists
          ? ok(`topic ${topic} exists`)
          : problem(`topic ${topic} does not exist`, "terraform apply (pubsub.tf)");
      },
      "check the project and the caller's pubsub.viewer permission",
    );
  }
  await check(
    results,
    "push subscription",
    async () => {
      const name = c.PUBSUB_PUSH_SUBSCRIPTION;
      let meta;
      try {
        [meta] = await pubsub.subscription(name).getMetadata();
      } catch (err) {
        if (grpcCode(err) === 5)
          return problem(
            `push subscription ${name} does not exist`,
            "terraform apply, or set PUBSUB_PUSH_SUBSCRIPTION",
          );
        throw err;
      }
      const out: Omit<CheckResult, "check">[] = [];
      out.push(
        meta.topic === topicPath(c.PUBSUB_TOPIC)
          ? ok(`${name} reads ${c.PUBSUB_TOPIC}`)
          : problem(
              `${name} reads ${meta.topic ?? "nothing"}, not ${c.PUBSUB_TOPIC}`,
              "terraform apply (pubsub.tf)",
            ),
      );
      const endpoint = meta.pushConfig?.pushEndpoint ?? "";
      out.push(
        endpoint.endsWith("/pubsub/push")
          ? ok(`${name} pushes to ${endpoint}`)
          : problem(
              `${name} pushes to ${endpoint || "nowhere (a pull subscription)"}`,
              "its push endpoint must be FULFILLER_URL/pubsub/push: terraform apply",
            ),
      );
      const audience = meta.pushConfig?.oidcToken?.audience ?? "";
      seen.subscription = {
        audience: meta.pushConfig?.oidcToken?.audience ?? undefined,
        serviceAccount: meta.pushConfig?.oidcToken?.serviceAccountEmail ?? undefined,
      };
      if (c.PUSH_AUDIENCE)
        out.push(
          audience === c.PUSH_AUDIENCE
            ? ok(`${name} signs push tokens for audience ${audience}`)
            : problem(
                `${name} signs tokens for audience "${audience}", the fulfiller expects "${c.PUSH_AUDIENCE}"`,
                "make var.push_audience and PUSH_AUDIENCE the same, then terraform apply",
              ),
        );
      else out.push(skipped("push token audience", "PUSH_AUDIENCE is not set (local stack: PUSH_AUTH=none)"));
      const dlq = meta.deadLetterPolicy;
      out.push(
        dlq?.deadLetterTopic === topicPath(c.PUBSUB_DLQ_TOPIC)
          ? ok(
              `${name} dead-letters to ${c.PUBSUB_DLQ_TOPIC} after ${dlq.maxDeliveryAttempts ?? "?"} attempts`,
            )
          : problem(
              `${name} has no dead-letter policy to ${c.PUBSUB_DLQ_TOPIC}`,
              "terraform apply (pubsub.tf): without it a failing message retries for 7 days, then is lost",
            ),
      );
      return out;
    },
    "check the caller's pubsub.viewer permission on the subscription",
  );
  await check(
    results,
    "service agent grants",
    async () => {
      if (emulated) return skipped("Pub/Sub service agent grants", "the emulator has no IAM");
      const agent = /^serviceAccount:service-\d+@gcp-sa-pubsub\.iam\.gserviceaccount\.com$/;
      const holds = (
        policy: { bindings?: { role?: string | null; members?: string[] | null }[] | null },
        role: string,
      ) =>
        (policy.bindings ?? []).some((b) => b.role === role && (b.members ?? []).some((m) => agent.test(m)));
      try {
        const [subPolicy] = await pubsub.subscription(c.PUBSUB_PUSH_SUBSCRIPTION).iam.getPolicy();
        const [topicPolicy] = await pubsub.topic(c.PUBSUB_DLQ_TOPIC).iam.getPolicy();
        const out: Omit<CheckResult, "check">[] = [];
        out.push(
          holds(subPolicy, "roles/pubsub.subscriber")
            ? ok(
                "the Pub/Sub service agent may acknowledge what it dead-letters (subscriber on the push subscription)",
              )
            : problem(
                "the Pub/Sub service agent is not subscriber on the push subscription: dead-lettering fails silently",
                "terraform apply (iam.tf agent_subscribes_push)",
              ),
        );
        out.push(
          holds(topicPolicy, "roles/pubsub.publisher")
            ? ok("the Pub/Sub service agent may publish to the dead-letter topic")
            : problem(
                "the Pub/Sub service agent cannot publish to the dead-letter topic: dead-lettering fails silently",
                "terraform apply (iam.tf agent_publishes_dead_letters)",
              ),
        );
        return out;
      } catch (err) {
        if (grpcCode(err) === 7)
          return skipped(
            "Pub/Sub service agent grants",
            "the caller may not read IAM policies (needs pubsub.*.getIamPolicy)",
          );
        throw err;
      }
    },
    "check the caller's permissions",
  );
  await check(
    results,
    "dead letters",
    async () => {
      const { DeadLetterSubscription } = await import("../dead-letters.js");
      const dlq = new DeadLetterSubscription(pubsub, c.PUBSUB_DLQ_SUBSCRIPTION);
      try {
        const { messages } = await dlq.browse({ limit: 100 });
        return messages.length === 0
          ? ok(`${c.PUBSUB_DLQ_SUBSCRIPTION} is empty`)
          : problem(
              `${messages.length}${messages.length >= 100 ? "+" : ""} dead letter(s) in ${c.PUBSUB_DLQ_SUBSCRIPTION}`,
              "npm run cli -- dlq list; fix the reason, then dlq replay",
            );
      } finally {
        await dlq.close();
      }
    },
    "terraform apply (the dead-letter subscription), or set PUBSUB_DLQ_SUBSCRIPTION",
  );
}

async function checkFirestore(
  results: CheckResult[],
  db: Firestore,
  store: FirestoreOrderStore,
  c: DoctorConfig,
): Promise<void> {
  await check(
    results,
    "firestore",
    async () => {
      await store.list({ limit: 1 });
      return ok(`Firestore answers (project ${c.GOOGLE_CLOUD_PROJECT})`);
    },
    "check the database exists (terraform apply) and the caller has roles/datastore.user",
  );
  await check(
    results,
    "firestore ttl",
    async () => {
      if (c.FIRESTORE_EMULATOR_HOST)
        return skipped("TTL policy on stripe_events.expire_at", "the emulator has no TTL policies");
      // The admin client is a lazy CommonJS export: not a named ESM export.
      const FirestoreModule = (await import("@google-cloud/firestore")).default;
      const { EVENTS } = await import("../../fulfiller/adapters/firestore-order-store.js");
      const admin = new FirestoreModule.v1.FirestoreAdminClient();
      try {
        const [field] = await admin.getField({
          name: `projects/${c.GOOGLE_CLOUD_PROJECT}/databases/(default)/collectionGroups/${EVENTS}/fields/expire_at`,
        });
        const state = String(field.ttlConfig?.state ?? "none");
        return state === "ACTIVE" || state === "CREATING"
          ? ok(`TTL policy on ${EVENTS}.expire_at is ${state}`)
          : problem(
              `no active TTL policy on ${EVENTS}.expire_at (${state}): the event ledger grows for ever`,
              "terraform apply (firestore.tf stripe_events_ttl)",
            );
      } finally {
        await admin.close();
      }
    },
    "check the caller may read Firestore's indexes (roles/datastore.indexViewer)",
  );
  await check(
    results,
    "orders",
    async () => {
      const review = await store.list({ status: "needs_review", limit: 100 });
      const undelivered = await store.list({ undelivered: true, limit: 100 });
      return [
        review.length === 0
          ? ok("no order needs review")
          : problem(
              `${review.length} order(s) need review (an email may or may not have gone out)`,
              "npm run cli -- orders list --status needs_review; then orders resolve ID --sent or --resend",
            ),
        undelivered.length === 0
          ? ok("no undelivered order email")
          : problem(
              `${undelivered.length} order email(s) bounced or were dropped`,
              "npm run cli -- orders list --undelivered; fix the address, then orders resend ID --undelivered",
            ),
      ];
    },
    "check the (status, updated_at) and (email.delivery.state, updated_at) indexes exist (terraform apply)",
  );
}

async function checkStripe(
  results: CheckResult[],
  c: DoctorConfig,
  apiKey: string | undefined,
  given: Stripe | undefined,
  found: Seen,
): Promise<void> {
  if (!apiKey && !given) {
    results.push({ check: "stripe", ...skipped("Stripe", "STRIPE_API_KEY did not resolve (above)") });
    return;
  }
  const live = apiKey ? isLiveKey(apiKey) : false;
  const stripe =
    given ??
    (await import("../../fulfiller/adapters/stripe-catalog.js")).createStripeClient({
      apiKey: apiKey!,
      apiBase: c.STRIPE_API_BASE,
      timeoutMs: 10_000,
      maxNetworkRetries: 1,
      budget: cliBudget(c),
    });
  const seen: { endpoints?: Stripe.WebhookEndpoint[] } = {};
  const rate = c.STRIPE_REQUESTS_PER_SECOND;
  results.push({
    check: "stripe budget",
    ...ok(
      `request budget ${rate} requests/s per process (STRIPE_REQUESTS_PER_SECOND): at one read per order, about ${rate} orders/s per fulfiller instance, and the instances' sum must stay under the account's limit (100/s live, 25 in a sandbox)`,
    ),
  });
  await check(
    results,
    "stripe key",
    async () => {
      try {
        seen.endpoints = (await stripe.webhookEndpoints.list({ limit: 100 })).data;
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (status === 401 || status === 403)
          return problem(
            `Stripe refuses STRIPE_API_KEY (${status}: ${errorMessage(err)})`,
            status === 401
              ? "store the account's secret or restricted key in STRIPE_API_KEY"
              : "give the restricted key Webhook Endpoints read (and what terraform/README.md lists)",
          );
        throw err;
      }
      return ok(
        `Stripe accepts the ${live ? "live" : "test"}-mode ${apiKey?.startsWith("rk_") ? "restricted" : "secret"} key`,
      );
    },
    "check STRIPE_API_KEY (a restricted key needs Webhook Endpoints read as well)",
  );
  await check(
    results,
    "stripe webhook",
    () => {
      const endpoints = seen.endpoints;
      if (!endpoints) return skipped("webhook endpoint", "the key was not accepted (above)");
      if (!c.RECEIVER_URL)
        return skipped("webhook endpoint", "RECEIVER_URL is not set (terraform output -raw receiver_url)");
      const url = `${c.RECEIVER_URL.replace(/\/$/, "")}/webhooks/stripe`;
      // Any of the receiver's addresses: the load balancer's or RECEIVER_URL, and both of
      // Cloud Run's default URLs in every region; on either path the receiver serves.
      const bases = [c.RECEIVER_URL, ...found.receiverUrls].map((b) => b.replace(/\/$/, ""));
      const accepted = new Set(
        bases.flatMap((b) => [`${b}/webhooks/stripe`, `${b}/webhook_succesful_payment`]),
      );
      const endpoint =
        endpoints.find((e) => e.url === url) ??
        endpoints.find((e) => accepted.has(e.url.replace(/\/$/, "")) && e.status === "enabled") ??
        endpoints.find((e) => accepted.has(e.url.replace(/\/$/, "")));
      if (!endpoint)
        return problem(
          `no Stripe webhook endpoint for ${url}${bases.length > 1 ? ` (nor the receiver's other URLs: ${bases.slice(1).join(", ")})` : ""}`,
          `stripe webhook_endpoints create --url ${url} --api-version ${STRIPE_API_VERSION} (terraform/README.md)`,
        );
      const out: Omit<CheckResult, "check">[] = [];
      out.push(
        endpoint.status === "enabled"
          ? ok(`webhook endpoint ${endpoint.id} for ${endpoint.url} is enabled`)
          : problem(
              `webhook endpoint ${endpoint.id} is ${endpoint.status}`,
              "enable it in the Dashboard (Developers > Webhooks)",
            ),
      );
      const enabled = new Set(endpoint.enabled_events);
      const missing = enabled.has("*") ? [] : handledEventTypes().filter((t) => !enabled.has(t));
      out.push(
        missing.length === 0
          ? ok(`it sends every event type the pipeline needs (${handledEventTypes().length})`)
          : problem(
              `it does not send ${missing.join(", ")}`,
              `stripe webhook_endpoints update ${endpoint.id} with every type in terraform output stripe_event_types_to_enable`,
            ),
      );
      out.push(
        endpoint.api_version === STRIPE_API_VERSION
          ? ok(`it uses the pinned API version ${STRIPE_API_VERSION}`)
          : problem(
              `it uses API version ${endpoint.api_version ?? "the account default"}, the code pins ${STRIPE_API_VERSION}`,
              "create a new endpoint with --api-version set (the version of an endpoint cannot be changed), roll its secret in, delete the old one",
            ),
      );
      return out;
    },
    "check the key may read webhook endpoints",
  );
  for (const id of c.FULFILMENT_PRODUCT_IDS) {
    if (!seen.endpoints) {
      results.push({
        check: "product",
        ...skipped(`FULFILMENT_PRODUCT_IDS: ${id}`, "the key was not accepted (above)"),
      });
      continue;
    }
    await check(
      results,
      "product",
      async () => {
        try {
          const product = await stripe.products.retrieve(id);
          if (product.livemode !== live)
            return problem(
              `FULFILMENT_PRODUCT_IDS: ${id} is a ${product.livemode ? "live" : "test"}-mode product and the key is ${live ? "live" : "test"}`,
              "use the product id of the key's mode",
            );
          return product.active
            ? ok(`FULFILMENT_PRODUCT_IDS: ${id} is "${product.name}"`)
            : problem(
                `FULFILMENT_PRODUCT_IDS: ${id} ("${product.name}") is archived`,
                "check the id: new orders cannot buy an archived product",
              );
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode === 404)
            return problem(
              `FULFILMENT_PRODUCT_IDS: ${id} does not exist for this ${live ? "live" : "test"}-mode key: no order would ship`,
              "fix the id (Stripe Dashboard > Product catalogue), redeploy, then npm run cli -- orders retry for the orders it skipped",
            );
          throw err;
        }
      },
      "check the key may read products",
    );
  }
}

async function checkSendGrid(
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

export function doctorCommand(): Command {
  return new Command("doctor")
    .description("Check a deployment end to end, read-only: one line per check, each problem with its fix.")
    .option("--json", "a JSON array of {check, status, detail, fix}")
    .option(
      "--deploy",
      "after a deploy, before traffic moves: check the revisions tagged --candidate-tag, and report backlog as warnings (exit 1 only for the wiring)",
    )
    .option("--candidate-tag <tag>", "with --deploy: the traffic tag of the revisions to check", "candidate")
    .addHelpText(
      "after",
      "\nIt checks: the topics and subscriptions and how they are wired (push endpoint, audience,\n" +
        "dead-letter policy, the Pub/Sub service agent's grants where IAM is readable), the dead-letter\n" +
        "backlog, Firestore and its TTL policy, that each secret resolves, the Stripe key and its mode,\n" +
        "the webhook endpoint for RECEIVER_URL (event types, API version), every FULFILMENT_PRODUCT_IDS\n" +
        "entry, the SendGrid key's permission to send, and orders needing review or undelivered.\n" +
        "It reads the same variables as the services (sm:// references resolved); RECEIVER_URL is the\n" +
        "receiver's base URL, PUBSUB_PUSH_SUBSCRIPTION the push subscription (terraform output).\n" +
        "With CLOUD_RUN_REGION, RECEIVER_SERVICE and FULFILLER_SERVICE (cli_env sets them) it checks the Cloud\n" +
        "Run side too: each revision ready, the fulfiller's push settings against the subscription, who may\n" +
        "invoke what, the reconcile schedule and its last run. A permission it lacks is skipped: needs X.\n" +
        "Exit 1 when anything is wrong. Run it after every apply; Cloud Build runs it with --deploy.\n" +
        "\nExamples:\n  npm run cli -- doctor\n  npm run cli -- doctor --local      # against `npm start`\n  npm run cli -- doctor --json\n  npm run cli -- doctor --deploy     # as Cloud Build runs it, before moving traffic",
    )
    .action(async (opts: { json?: boolean; deploy?: boolean; candidateTag: string }) => {
      const results = await runDoctor({
        env: process.env,
        ...(opts.deploy ? { deploy: { candidateTag: opts.candidateTag } } : {}),
      });
      console.log(opts.json ? JSON.stringify(results, null, 2) : formatResults(results));
      if (results.some((r) => r.status === "problem")) process.exitCode = 1;
    });
}
