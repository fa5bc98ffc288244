/**
 * `doctor`: checks a deployment end to end, read-only, one line per check, each problem
 * with how to fix it (DESIGN section 6). Run it after every apply. Against the local
 * stack the stand-ins answer the same calls; what the emulators cannot show (IAM, TTL
 * policies) is reported as skipped, never as passed.
 */
import type Stripe from "stripe";
import { parseConfig, type Env } from "../../../common/config.js";
import { checkCloudRun, googleGet, type GoogleGet } from "./cloud-run.js";
import { doctorSchema, type DoctorConfig, type Seen } from "./config.js";
import { checkFirestore } from "./firestore.js";
import { checkPubSub } from "./pubsub.js";
import { skipped, type CheckResult } from "./results.js";
import { resolveSecret, SECRETS, type SecretName } from "./secrets.js";
import { checkSendGrid } from "./sendgrid.js";
import { checkStripe } from "./stripe.js";

export type { CheckResult, CheckStatus } from "./results.js";

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

export async function runDoctor(deps: DoctorDeps): Promise<CheckResult[]> {
  const config: DoctorConfig = parseConfig("doctor", doctorSchema, deps.env);
  const results: CheckResult[] = [];
  const emulated = !!config.PUBSUB_EMULATOR_HOST;
  // Loaded here, not with the command's definition: `--help` and the other commands do without them.
  const [{ PubSub }, { Firestore }, { FirestoreOrderStore }] = await Promise.all([
    import("@google-cloud/pubsub"),
    import("@google-cloud/firestore"),
    import("../../../fulfiller/adapters/firestore-order-store.js"),
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
