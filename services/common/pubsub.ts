import type { PubSub, Topic } from "@google-cloud/pubsub";
import { TransientError } from "./errors.js";

/** Publishes one message and resolves with its Pub/Sub message id once the server has it. */
export interface MessagePublisher {
  publish(data: Buffer, attributes: Record<string, string>): Promise<string>;
  /** Sends anything still batched and releases the client's resources. */
  close(): Promise<void>;
}

export interface TopicPublisherOptions {
  /** Bound on one publish, retries included (the client's own default budget is 600 s). */
  timeoutMs: number;
  /**
   * How long the client may hold a message to batch it with others. Every publish
   * here is awaited by an HTTP request, so the window is added to every request's
   * latency and, at a fixed number of connections, caps throughput: 1 ms (the
   * client's default is 10) measured 4.5x the throughput of 10 ms at saturation
   * (docs/BENCHMARKS.md, "publisher batching").
   */
  maxBatchMilliseconds?: number;
  maxBatchMessages?: number;
}

/** A MessagePublisher over one `@google-cloud/pubsub` topic, created once and reused. */
export class PubSubPublisher implements MessagePublisher {
  private readonly topic: Topic;

  constructor(pubsub: PubSub, topicName: string, options: TopicPublisherOptions) {
    this.topic = pubsub.topic(topicName, {
      batching: {
        maxMessages: options.maxBatchMessages ?? 100,
        maxMilliseconds: options.maxBatchMilliseconds ?? 1,
        maxBytes: 4 * 1024 * 1024,
      },
      // gax applies `timeout` as the total retry budget as well as the per-call timeout.
      gaxOpts: { timeout: options.timeoutMs },
    });
  }

  get name(): string {
    return this.topic.name;
  }

  async publish(data: Buffer, attributes: Record<string, string>): Promise<string> {
    try {
      return await this.topic.publishMessage({ data, attributes });
    } catch (err) {
      throw new TransientError(`publish to ${this.topic.name} failed`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.topic.flush();
  }
}

/**
 * A publisher made on its first publish, for a path most processes never take (the
 * fulfiller's dead letters): the service is ready without loading its client, which costs
 * about a fifth of the fulfiller's start-up (docs/BENCHMARKS.md). Concurrent first
 * publishes share one creation; a creation that fails is tried again on the next publish.
 */
export class OnDemandPublisher implements MessagePublisher {
  private created: Promise<MessagePublisher> | undefined;
  private closed = false;

  constructor(private readonly create: () => Promise<MessagePublisher>) {}

  publish(data: Buffer, attributes: Record<string, string>): Promise<string> {
    // After close, a late publish must not make a client that nothing would close.
    if (this.closed) return Promise.reject(new TransientError("the publisher is closed"));
    this.created ??= this.create().catch((err: unknown) => {
      this.created = undefined;
      throw new TransientError("the publisher could not be created", { cause: err });
    });
    return this.created.then((publisher) => publisher.publish(data, attributes));
  }

  /** Closes the publisher if one was made; nothing to do otherwise. */
  async close(): Promise<void> {
    this.closed = true;
    const created = this.created;
    this.created = undefined;
    if (!created) return;
    const publisher = await created.catch(() => undefined);
    await publisher?.close();
  }
}

/** An outside call outlived the time it was given (it may still complete on its own). */
export class DeadlineExceededError extends TransientError {
  constructor(what: string, ms: number) {
    super(`${what} timed out after ${ms} ms`, { code: "deadline_exceeded" });
  }
}

/** Rejects with a DeadlineExceededError when `promise` has not settled within `ms`. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceededError(what, Math.max(0, Math.round(ms)))), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One bound (`ms`) applied to many concurrent calls, on one coarse timer instead of a
 * timer per call: the receiver bounds every publish this way, thousands a second. A call
 * still pending `ms` after it began is rejected with a DeadlineExceededError at the next
 * sweep, so within `resolutionMs` after its deadline. All calls share the same bound, so
 * they expire in the order they began, and a sweep stops at the first still in time.
 */
export class DeadlineGroup {
  private readonly pending = new Set<{ at: number; reject: (err: Error) => void }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly resolutionMs: number;

  constructor(
    private readonly ms: number,
    private readonly what: string,
    resolutionMs = 25,
  ) {
    this.resolutionMs = Math.max(1, Math.min(resolutionMs, ms / 4));
  }

  /** Settles as `promise` does, or rejects once it has been pending longer than the bound. */
  run<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry = { at: performance.now() + this.ms, reject };
      this.pending.add(entry);
      this.timer ??= setInterval(this.sweep, this.resolutionMs).unref();
      promise.then(
        (value) => {
          this.pending.delete(entry);
          resolve(value);
        },
        (err: Error) => {
          this.pending.delete(entry);
          reject(err);
        },
      );
    });
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    for (const entry of this.pending) {
      if (entry.at > now) break;
      this.pending.delete(entry);
      entry.reject(new DeadlineExceededError(this.what, Math.round(this.ms)));
    }
    if (this.pending.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  };
}
