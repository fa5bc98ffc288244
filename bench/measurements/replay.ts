/** The operator CLI: `dlq replay --all` throughput on the emulator. */
import { buildEvent, buildSession } from "../../services/local/stripe/objects.js";
import { round } from "../ratios.js";

/** `dlq replay --all` throughput: N dead letters republished, each acknowledged after its publish. */
export async function measureReplay(n: number) {
  const { PubSub } = await import("@google-cloud/pubsub");
  const { PubSubPublisher } = await import("../../services/common/pubsub.js");
  const { DeadLetterSubscription } = await import("../../services/cli/dead-letters.js");
  const { replayDeadLetters } = await import("../../services/cli/commands/dlq.js");
  const pubsub = new PubSub({ projectId: "bench-project" });
  const stamp = Date.now();
  const [dlqTopic] = await pubsub.createTopic(`bench-dlq-${stamp}`);
  await dlqTopic.createSubscription(`bench-dlq-${stamp}-sub`);
  const [mainTopic] = await pubsub.createTopic(`bench-main-${stamp}`);

  const body = Buffer.from(
    JSON.stringify(buildEvent({ type: "checkout.session.completed", object: buildSession() })),
  );
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      dlqTopic.publishMessage({
        data: body,
        attributes: { event_id: `evt_${i}`, dead_letter_reason: "bench" },
      }),
    ),
  );
  const dlq = new DeadLetterSubscription(pubsub, `bench-dlq-${stamp}-sub`);
  const publisher = new PubSubPublisher(pubsub, mainTopic.name, { timeoutMs: 10_000 });
  const started = performance.now();
  const result = await replayDeadLetters({ dlq, publisher }, { all: true, limit: n });
  const seconds = (performance.now() - started) / 1000;
  await publisher.close();
  await dlq.close();
  await pubsub.close();
  return {
    messages: n,
    replayed: result.replayed.length,
    failed: result.failed.length,
    seconds: round(seconds, 2),
    per_second: round(result.replayed.length / seconds, 1),
  };
}
