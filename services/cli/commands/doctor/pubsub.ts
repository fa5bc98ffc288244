/** `doctor`'s Pub/Sub checks: the topics, the push subscription's wiring, the service agent's grants, dead letters. */
import type { PubSub } from "@google-cloud/pubsub";
import type { DoctorConfig, Seen } from "./config.js";
import { check, grpcCode, ok, problem, skipped, type CheckResult, type Outcome } from "./results.js";

export async function checkPubSub(
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
      const out: Outcome[] = [];
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
        const out: Outcome[] = [];
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
      const { DeadLetterSubscription } = await import("../../dead-letters.js");
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
