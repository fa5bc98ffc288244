import { PubSub } from "@google-cloud/pubsub";
import { Firestore } from "@google-cloud/firestore";
import { PubSubPublisher, withDeadline } from "../common/pubsub.js";
import { FirestoreOrderStore } from "../fulfiller/adapters/firestore-order-store.js";
import { DeadLetterSubscription } from "./dead-letters.js";
import type { CliConfig } from "./config.js";

/** How long one CLI call to Firestore may take. */
export const CALL_TIMEOUT_MS = 15_000;

/** `target` with each method that returns a promise cut off after `ms`. */
function bounded<T extends object>(target: T, ms: number, what: string): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(object, args);
        return result instanceof Promise
          ? withDeadline(result, ms, `${what} (${String(property)}) did not answer: it`)
          : result;
      };
    },
  });
}

/** The SDK clients a command needs, built on demand and closed together. */
export class PipelineClients {
  private pubsubClient: PubSub | undefined;
  private db: Firestore | undefined;
  private closers: (() => Promise<void>)[] = [];

  constructor(private readonly config: CliConfig) {}

  get pubsub(): PubSub {
    if (!this.pubsubClient) {
      const client = new PubSub({ projectId: this.config.GOOGLE_CLOUD_PROJECT });
      this.pubsubClient = client;
      this.closers.push(() => client.close());
    }
    return this.pubsubClient;
  }

  deadLetters(): DeadLetterSubscription {
    const dlq = new DeadLetterSubscription(this.pubsub, this.config.PUBSUB_DLQ_SUBSCRIPTION);
    this.closers.unshift(() => dlq.close());
    return dlq;
  }

  mainTopicPublisher(): PubSubPublisher {
    const publisher = new PubSubPublisher(this.pubsub, this.config.PUBSUB_TOPIC, { timeoutMs: 10_000 });
    this.closers.unshift(() => publisher.close());
    return publisher;
  }

  /** The order store, every call bounded (the Firestore client alone retries an unreachable host for ~40 s). */
  orders(): FirestoreOrderStore {
    if (!this.db) {
      const db = new Firestore({
        projectId: this.config.GOOGLE_CLOUD_PROJECT,
        ignoreUndefinedProperties: true,
      });
      this.db = db;
      this.closers.push(() => db.terminate());
    }
    return bounded(new FirestoreOrderStore(this.db), CALL_TIMEOUT_MS, "Firestore");
  }

  async close(): Promise<void> {
    for (const close of this.closers) await close().catch(() => {});
  }
}
