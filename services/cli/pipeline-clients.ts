import type { PubSub } from "@google-cloud/pubsub";
import type { Firestore } from "@google-cloud/firestore";
import { PubSubPublisher, withDeadline } from "../common/pubsub.js";
import type { FirestoreOrderStore } from "../fulfiller/adapters/firestore-order-store.js";
import type { DeadLetterSubscription } from "./dead-letters.js";
import type { CliConfig } from "./config.js";

/** Which Google clients a command uses: only those are loaded (each is a few hundred ms of a CLI start). */
export type ClientNeeds = readonly ("pubsub" | "firestore")[];

/** The modules behind each client, imported by `PipelineClients.open` for the commands that need them. */
interface PubSubModules {
  PubSub: typeof import("@google-cloud/pubsub").PubSub;
  DeadLetterSubscription: typeof import("./dead-letters.js").DeadLetterSubscription;
}
interface FirestoreModules {
  Firestore: typeof import("@google-cloud/firestore").Firestore;
  FirestoreOrderStore: typeof import("../fulfiller/adapters/firestore-order-store.js").FirestoreOrderStore;
}

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

  private constructor(
    private readonly config: CliConfig,
    private readonly pubsubModules: PubSubModules | undefined,
    private readonly firestoreModules: FirestoreModules | undefined,
  ) {}

  /** Loads the client libraries `needs` names (and no others) and returns the clients over them. */
  static async open(config: CliConfig, needs: ClientNeeds): Promise<PipelineClients> {
    const [pubsub, firestore] = await Promise.all([
      needs.includes("pubsub")
        ? Promise.all([import("@google-cloud/pubsub"), import("./dead-letters.js")]).then(
            ([sdk, dlq]): PubSubModules => ({
              PubSub: sdk.PubSub,
              DeadLetterSubscription: dlq.DeadLetterSubscription,
            }),
          )
        : undefined,
      needs.includes("firestore")
        ? Promise.all([
            import("@google-cloud/firestore"),
            import("../fulfiller/adapters/firestore-order-store.js"),
          ]).then(([sdk, store]): FirestoreModules => ({
            Firestore: sdk.Firestore,
            FirestoreOrderStore: store.FirestoreOrderStore,
          }))
        : undefined,
    ]);
    return new PipelineClients(config, pubsub, firestore);
  }

  private loaded<T>(modules: T | undefined, name: string): T {
    if (!modules)
      throw new Error(`PipelineClients was opened without "${name}"; add it to the command's needs`);
    return modules;
  }

  get pubsub(): PubSub {
    if (!this.pubsubClient) {
      const { PubSub } = this.loaded(this.pubsubModules, "pubsub");
      const client = new PubSub({ projectId: this.config.GOOGLE_CLOUD_PROJECT });
      this.pubsubClient = client;
      this.closers.push(() => client.close());
    }
    return this.pubsubClient;
  }

  deadLetters(): DeadLetterSubscription {
    const { DeadLetterSubscription } = this.loaded(this.pubsubModules, "pubsub");
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
    const { Firestore, FirestoreOrderStore } = this.loaded(this.firestoreModules, "firestore");
    if (!this.db) {
      const db = new Firestore({
        projectId: this.config.GOOGLE_CLOUD_PROJECT,
        ignoreUndefinedProperties: true,
      });
      this.db = db;
      this.closers.push(() => db.terminate());
    }
    return bounded(
      new FirestoreOrderStore(this.db, Date.now, {
        retentionDays: this.config.ORDER_PII_RETENTION_DAYS,
        emailHashKey: this.config.ORDER_EMAIL_HASH_KEY,
      }),
      CALL_TIMEOUT_MS,
      "Firestore",
    );
  }

  async close(): Promise<void> {
    for (const close of this.closers) await close().catch(() => {});
  }
}
