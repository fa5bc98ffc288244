import { eventAttributes, parseStripeEvent } from "../../services/common/event.js";
import type { RequestBudget } from "../../services/common/request-budget.js";
import { randomUUID } from "node:crypto";
import { Firestore } from "@google-cloud/firestore";
import { PubSub, type Subscription } from "@google-cloud/pubsub";
import { createApp } from "../../services/fulfiller/app.js";
import {
  Fulfiller,
  type FulfilmentSettings,
  type PushOutcome,
} from "../../services/fulfiller/fulfil-order.js";
import { parsePushEnvelope } from "../../services/fulfiller/push/push-envelope.js";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import { createStripeClient, StripeApiCatalog } from "../../services/fulfiller/adapters/stripe-catalog.js";
import { SendGridMailer } from "../../services/fulfiller/adapters/sendgrid-mailer.js";
import { createPushAuthenticator, type PushAuthenticator } from "../../services/fulfiller/push/push-auth.js";
import { PubSubPublisher, type MessagePublisher } from "../../services/common/pubsub.js";
import type { OrderStore } from "../../services/fulfiller/ports.js";
import { StripeStandIn } from "../../services/local/stripe/stand-in.js";
import { SendGridStandIn } from "../../services/local/sendgrid-server.js";
import { SCALE_PRODUCT_ID } from "../../services/local/stripe/objects.js";
import { emulatorState } from "./emulator-state.js";
import { listen, type Listening } from "./http.js";
import { LogCapture } from "./log-capture.js";

export const STRIPE_TEST_KEY = "sk_test_harness_key_0001";

export interface HarnessOptions {
  settings?: Partial<FulfilmentSettings>;
  /** The key the fulfiller uses (default the one the Stripe stand-in accepts). */
  stripeApiKey?: string;
  /** Wraps the real Firestore store, e.g. to make some of its calls fail or hang. */
  wrapStore?: (store: FirestoreOrderStore) => OrderStore;
  authenticate?: PushAuthenticator;
  deadLetter?: MessagePublisher;
}

/** The fulfiller wired to the Firestore and Pub/Sub emulators and local Stripe and SendGrid stand-ins. */
export class FulfillerHarness {
  readonly stripe = new StripeStandIn({ apiKey: STRIPE_TEST_KEY });
  readonly sendgrid = new SendGridStandIn({ apiKey: "SG.test-key" });
  readonly logs = new LogCapture("fulfiller");
  readonly pubsub = new PubSub({ projectId: emulatorState.project });
  readonly db = new Firestore({ projectId: emulatorState.project, ignoreUndefinedProperties: true });
  /** The email look-up hash's key the harness's store (and so its fulfillers) use (DESIGN 5c). */
  static readonly EMAIL_HASH_KEY = "email-hash-key-for-the-test-harness-0123";
  readonly store = new FirestoreOrderStore(this.db, Date.now, {
    emailHashKey: FulfillerHarness.EMAIL_HASH_KEY,
  });
  dlqSubscription!: Subscription;
  dlqTopic = "";
  server!: Listening;
  fulfiller!: Fulfiller;
  settings!: FulfilmentSettings;
  private deadLetter!: MessagePublisher;
  private stripeApiKey = STRIPE_TEST_KEY;
  private counter = 0;

  async start(options: HarnessOptions = {}): Promise<this> {
    await this.stripe.start();
    await this.sendgrid.start();
    this.dlqTopic = `dlq-${randomUUID().slice(0, 8)}`;
    const [topic] = await this.pubsub.createTopic(this.dlqTopic);
    [this.dlqSubscription] = await topic.createSubscription(`${this.dlqTopic}-sub`);
    this.deadLetter =
      options.deadLetter ?? new PubSubPublisher(this.pubsub, this.dlqTopic, { timeoutMs: 3000 });
    const settings: FulfilmentSettings = {
      liveKey: false,
      fulfilTrials: true,
      productIds: [SCALE_PRODUCT_ID],
      emailTo: ["fulfilment@example.com"],
      emailFrom: "orders@example.com",
      leaseMs: 10_000,
      deadlineMs: 5_000,
      deadLetterSource: "fulfiller-test",
      ...options.settings,
    };
    this.settings = settings;
    this.stripeApiKey = options.stripeApiKey ?? STRIPE_TEST_KEY;
    this.fulfiller = this.makeFulfiller({}, options.wrapStore ? options.wrapStore(this.store) : this.store);
    this.server = await listen(
      createApp({
        fulfiller: this.fulfiller,
        authenticate: options.authenticate ?? createPushAuthenticator({ mode: "none" }),
        logger: this.logs.logger,
      }),
    );
    return this;
  }

  /** Another fulfiller over the same store and stand-ins (as a redeployed one, or the operator's CLI, would be). */
  makeFulfiller(
    settings: Partial<FulfilmentSettings> = {},
    store: OrderStore = this.store,
    budget?: RequestBudget,
  ): Fulfiller {
    const merged = { ...this.settings, ...settings };
    return new Fulfiller({
      store,
      stripe: new StripeApiCatalog(
        createStripeClient({
          apiKey: this.stripeApiKey,
          apiBase: this.stripe.url,
          timeoutMs: merged.deadlineMs,
          budget,
          logger: this.logs.logger,
        }),
      ),
      mailer: new SendGridMailer({ apiKey: "SG.test-key", apiBase: this.sendgrid.url }),
      deadLetter: this.deadLetter,
      settings: merged,
    });
  }

  envelope(
    event: Record<string, unknown> | Buffer,
    attributes: Record<string, string> = {},
  ): Record<string, unknown> {
    this.counter += 1;
    const data = Buffer.isBuffer(event) ? event : Buffer.from(JSON.stringify(event));
    // An event gets the receiver's own attributes (either payload style).
    const parsed = Buffer.isBuffer(event) ? null : parseStripeEvent(data);
    return {
      message: {
        data: data.toString("base64"),
        attributes: parsed ? { ...eventAttributes(parsed, Date.now()), ...attributes } : attributes,
        messageId: `${Date.now()}${this.counter}`,
        publishTime: new Date().toISOString(),
      },
      subscription: "projects/test-project/subscriptions/stripe-events-push",
    };
  }

  /**
   * Delivers `event` to `fulfiller` directly, as its push route would after parsing the
   * envelope: for a second fulfiller (another configuration) over the same store.
   */
  deliver(fulfiller: Fulfiller, event: Record<string, unknown>): Promise<PushOutcome> {
    return fulfiller.handlePush(parsePushEnvelope(this.envelope(event)), this.logs.logger);
  }

  async push(body: unknown, headers: Record<string, string> = {}): Promise<number> {
    const response = await fetch(`${this.server.url}/pubsub/push`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    await response.arrayBuffer();
    return response.status;
  }

  /** Pushes until the delivery is acknowledged (204), as Pub/Sub's retries would. */
  async pushUntilAcked(body: unknown, maxTries = 10, pauseMs = 50): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < maxTries; i++) {
      const status = await this.push(body);
      statuses.push(status);
      if (status === 204) break;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
    return statuses;
  }

  async pullDeadLetters(max = 10): Promise<{ data: Buffer; attributes: Record<string, string> }[]> {
    const messages: { data: Buffer; attributes: Record<string, string> }[] = [];
    const deadline = Date.now() + 3000;
    await new Promise<void>((resolve) => {
      const onMessage = (m: { data: Buffer; attributes: Record<string, string>; ack(): void }) => {
        m.ack();
        messages.push({ data: m.data, attributes: m.attributes });
        if (messages.length >= max) finish();
      };
      const timer = setInterval(() => {
        if (Date.now() > deadline) finish();
      }, 100);
      const finish = () => {
        clearInterval(timer);
        this.dlqSubscription.removeListener("message", onMessage);
        resolve();
      };
      this.dlqSubscription.on("message", onMessage);
    });
    await this.dlqSubscription.close();
    return messages;
  }

  async stop(): Promise<void> {
    await this.server?.close();
    await this.stripe.stop();
    await this.sendgrid.stop();
    await this.deadLetter?.close();
    await this.pubsub.close();
    await this.db.terminate();
  }
}
