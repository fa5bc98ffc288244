/** Shared set-up for the benchmark servers: each runs in its own process, configured by env. */
import type { PubSub } from "@google-cloud/pubsub";
import { PubSubPublisher, type MessagePublisher } from "../../services/common/pubsub.js";

export const env = {
  port: Number(process.env.PORT ?? 0),
  topic: process.env.BENCH_TOPIC ?? "bench-events",
  secret: process.env.BENCH_SECRET ?? "whsec_bench_0123456789abcdef",
  noop: process.env.BENCH_NOOP === "1",
  /** Unset: the receiver's own default. */
  batchMs: process.env.BENCH_BATCH_MS ? Number(process.env.BENCH_BATCH_MS) : undefined,
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

/**
 * Loaded only when a server publishes for real: the no-op variants, which callgrind
 * counts, then skip the client's load (25 s of CPU under valgrind).
 */
async function benchPubSub(): Promise<PubSub> {
  const { PubSub } = await import("@google-cloud/pubsub");
  return new PubSub({ projectId: "bench-project" });
}

/** The publisher the shipped receiver uses (or a no-op, to separate our cost from the emulator's). */
export async function benchPublisher(): Promise<MessagePublisher> {
  if (env.noop) return new NoopPublisher();
  return new PubSubPublisher(await benchPubSub(), env.topic, {
    timeoutMs: 4000,
    ...(env.batchMs === undefined ? {} : { maxBatchMilliseconds: env.batchMs }),
  });
}

/** What Stripe's sample does: the client's own topic with its defaults (10 ms batching, 600 s retry budget). */
export async function samplePublisher(): Promise<MessagePublisher> {
  if (env.noop) return new NoopPublisher();
  const topic = (await benchPubSub()).topic(env.topic);
  return {
    publish: (data, attributes) => topic.publishMessage({ data, attributes }),
    close: () => topic.flush(),
  };
}

/** On stderr: stdout is the service's own log stream, discarded like Cloud Logging would take it. */
export function announce(port: number): void {
  process.stderr.write(`listening ${port}\n`);
}

/** Exit cleanly on SIGINT/SIGTERM, so that `node --cpu-prof` writes its profile. */
export function exitOnSignal(): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(0));
}
