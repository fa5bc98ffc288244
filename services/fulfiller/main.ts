import { Firestore } from "@google-cloud/firestore";
import { setupTracing } from "../common/tracing.js";
import { createLogger } from "../common/logger.js";
import { createSecretManagerClient, resolveSecrets } from "../common/secrets.js";
import { exitOnStartupError, Readiness, serve } from "../common/http.js";
import { OnDemandPublisher, PubSubPublisher } from "../common/pubsub.js";
import { RequestBudget } from "../common/request-budget.js";
import { loadFulfillerConfig } from "./config.js";
import { createApp } from "./app.js";
import { Fulfiller } from "./fulfil-order.js";
import { isLiveKey } from "./classify-event.js";
import { createPushAuthenticator } from "./push/push-auth.js";
import { FirestoreOrderStore } from "./adapters/firestore-order-store.js";
import { lazyCatalog } from "./adapters/lazy-catalog.js";
import { SendGridMailer } from "./adapters/sendgrid-mailer.js";

async function main(): Promise<void> {
  const env = await resolveSecrets("fulfiller", process.env, createSecretManagerClient);
  const config = loadFulfillerConfig(env);
  const logger = createLogger({ service: "fulfiller", level: config.LOG_LEVEL });
  const tracing = await setupTracing("fulfiller", {
    ...process.env,
    OTEL_TRACES_EXPORTER: config.OTEL_TRACES_EXPORTER,
  });
  if (config.PUSH_AUTH === "none") {
    logger.warn(
      { alert: "push_auth_disabled" },
      "PUSH_AUTH=none: push requests are NOT authenticated. Only for the local emulator stack; never deploy this.",
    );
  }
  // Dead letters are rare: the Pub/Sub client is loaded on the first one, not at start-up.
  const deadLetter = new OnDemandPublisher(async () => {
    const { PubSub } = await import("@google-cloud/pubsub");
    const pubsub = new PubSub({ projectId: config.GOOGLE_CLOUD_PROJECT });
    const topic = new PubSubPublisher(pubsub, config.PUBSUB_DLQ_TOPIC, { timeoutMs: 5000 });
    return {
      publish: (data, attributes) => topic.publish(data, attributes),
      close: async () => {
        await topic.close();
        await pubsub.close();
      },
    };
  });
  const db = new Firestore({ projectId: config.GOOGLE_CLOUD_PROJECT, ignoreUndefinedProperties: true });
  const budget = new RequestBudget({ ratePerSecond: config.STRIPE_REQUESTS_PER_SECOND });
  const fulfiller = new Fulfiller({
    store: new FirestoreOrderStore(db, Date.now, {
      retentionDays: config.ORDER_PII_RETENTION_DAYS,
      emailHashKey: config.ORDER_EMAIL_HASH_KEY,
    }),
    // The Stripe SDK loads on the first call, not at start-up (lazy-catalog.ts).
    stripe: lazyCatalog(async () => {
      const { createStripeClient, StripeApiCatalog } = await import("./adapters/stripe-catalog.js");
      return new StripeApiCatalog(
        createStripeClient({
          apiKey: config.STRIPE_API_KEY,
          apiBase: config.STRIPE_API_BASE,
          timeoutMs: config.HANDLER_DEADLINE_MS,
          // Every Stripe request of this instance takes a token (DESIGN 5): a flash sale waits instead of nacking.
          budget,
          logger,
        }),
      );
    }),
    mailer: new SendGridMailer({ apiKey: config.SENDGRID_API_KEY, apiBase: config.SENDGRID_API_BASE }),
    deadLetter,
    settings: {
      liveKey: isLiveKey(config.STRIPE_API_KEY),
      fulfilTrials: config.FULFIL_TRIALS,
      productIds: config.FULFILMENT_PRODUCT_IDS,
      optInField: config.FULFILMENT_OPT_IN_FIELD,
      emailTo: config.FULFILMENT_EMAIL_TO,
      emailFrom: config.EMAIL_FROM,
      templateId: config.SENDGRID_TEMPLATE_ID,
      leaseMs: config.ORDER_LEASE_SECONDS * 1000,
      deadlineMs: config.HANDLER_DEADLINE_MS,
      deadLetterSource: "fulfiller",
      dispatch:
        config.DISPATCH_LINK_SECRET && config.DISPATCH_BASE_URL
          ? { secret: config.DISPATCH_LINK_SECRET, baseUrl: config.DISPATCH_BASE_URL }
          : undefined,
    },
  });
  const readiness = new Readiness();
  const app = createApp({
    fulfiller,
    authenticate: createPushAuthenticator({
      mode: config.PUSH_AUTH,
      audience: config.PUSH_AUDIENCE,
      serviceAccount: config.PUSH_SERVICE_ACCOUNT,
      certsUrl: config.PUSH_OIDC_CERTS_URL,
    }),
    logger,
    project: config.GOOGLE_CLOUD_PROJECT,
    isReady: readiness.check,
  });
  const running = await serve(app, {
    port: config.PORT,
    logger,
    readiness,
    // Cloud Run allows 10 s from SIGTERM: sends in flight get nearly all of it.
    shutdownTimeoutMs: 9500,
    onDrain: () => fulfiller.beginDraining(),
    onShutdown: async (remainingMs) => {
      // A send cut off from its client (at the timeout) still records its outcome.
      await fulfiller.settled(remainingMs);
      await deadLetter.close();
      await db.terminate();
      await tracing.shutdown();
    },
  });
  logger.info(
    {
      port: running.port,
      push_auth: config.PUSH_AUTH,
      livemode: isLiveKey(config.STRIPE_API_KEY),
      dead_letter_topic: config.PUBSUB_DLQ_TOPIC,
      stripe_api_base: config.STRIPE_API_BASE ?? null,
      sendgrid_api_base: config.SENDGRID_API_BASE ?? null,
      traces: tracing.exporter,
    },
    "fulfiller ready",
  );
}

main().catch((err: unknown) => exitOnStartupError(createLogger({ service: "fulfiller" }), err));
