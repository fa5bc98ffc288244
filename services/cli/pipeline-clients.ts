import { PubSub } from "@google-cloud/pubsub";
import { Firestore } from "@google-cloud/firestore";
import { PubSubPublisher } from "../common/pubsub.js";
import { FirestoreOrderStore } from "../fulfiller/adapters/firestore-order-store.js";
import { DeadLetterSubscription } from "./dead-letters.js";
import type { CliConfig } from "./config.js";

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

  orders(): FirestoreOrderStore {
    if (!this.db) {
      const db = new Firestore({
        projectId: this.config.GOOGLE_CLOUD_PROJECT,
        ignoreUndefinedProperties: true,
      });
      this.db = db;
      this.closers.push(() => db.terminate());
    }
    return new FirestoreOrderStore(this.db);
  }

  async close(): Promise<void> {
    for (const close of this.closers) await close().catch(() => {});
  }
}
