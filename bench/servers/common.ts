/** Shared set-up for the benchmark servers: each runs in its own process, configured by env. */
import { PubSub } from "@google-cloud/pubsub";
import { PubSubPublisher, type MessagePublisher } from "../../services/common/pubsub.js";

export const env = {
  port: Number(process.env.PORT ?? 0),
  topic: process.env.BENCH_TOPIC ?? "bench-events",
  secret: process.env.BENCH_SECRET ?? "whsec_bench",
  noop: process.env.BENCH_NOOP === "1",
  batchMs: Number(process.env.BENCH_BATCH_MS ?? 5),
};

class NoopPublisher implements MessagePublisher {
  private n = 0;
  publish(): Promise<string> {
    return Promise.resolve(String(++this.n));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

export function benchPubSub(): PubSub {
  return new PubSub({ projectId: "bench-project" });
}

/** The publisher the shipped receiver uses (or a no-op, to separate our cost from the emulator's). */
export function benchPublisher(pubsub: PubSub): MessagePublisher {
  return env.noop
    ? new NoopPublisher()
    : new PubSubPublisher(pubsub, env.topic, { timeoutMs: 4000, maxBatchMilliseconds: env.batchMs });
}

export function announce(port: number): void {
  process.stdout.write(`listening ${port}\n`);
}
