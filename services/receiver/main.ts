import { PubSub } from "@google-cloud/pubsub";
import { createLogger } from "../common/logger.js";
import { createSecretManagerClient, resolveSecrets } from "../common/secrets.js";
import { exitOnStartupError, Readiness, serve } from "../common/http.js";
import { PubSubPublisher } from "../common/pubsub.js";
import { loadReceiverConfig } from "./config.js";
import { createApp } from "./app.js";
import { SendGridWebhookVerifier } from "./verify-sendgrid.js";
import { setupTracing } from "../common/tracing.js";
import { ConfigError, errorMessage } from "../common/errors.js";

async function main(): Promise<void> {
  const env = await resolveSecrets("receiver", process.env, createSecretManagerClient);
  const config = loadReceiverConfig(env);
  const logger = createLogger({ service: "receiver", level: config.LOG_LEVEL });
  const tracing = await setupTracing("receiver", {
    ...process.env,
    OTEL_TRACES_EXPORTER: config.OTEL_TRACES_EXPORTER,
  });
  const pubsub = new PubSub({ projectId: config.GOOGLE_CLOUD_PROJECT });
  const publisher = new PubSubPublisher(pubsub, config.PUBSUB_TOPIC, {
    timeoutMs: config.PUBLISH_TIMEOUT_MS,
  });
  let sendgrid: SendGridWebhookVerifier | undefined;
  if (config.SENDGRID_WEBHOOK_PUBLIC_KEY) {
    try {
      sendgrid = new SendGridWebhookVerifier(config.SENDGRID_WEBHOOK_PUBLIC_KEY);
    } catch (err) {
      throw new ConfigError("receiver", [
        `SENDGRID_WEBHOOK_PUBLIC_KEY: is not an ECDSA P-256 public key (copy the verification key from SendGrid's Event Webhook settings): ${errorMessage(err)}`,
      ]);
    }
  }
  const readiness = new Readiness();
  const app = createApp({
    sendgrid,
    dispatchSecret: config.DISPATCH_LINK_SECRET,
    webhookSecrets: config.STRIPE_WEBHOOK_SECRET,
    eventTypes: config.STRIPE_EVENT_TYPES,
    publisher,
    publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
    logger,
    project: config.GOOGLE_CLOUD_PROJECT,
    isReady: readiness.check,
  });
  const running = await serve(app, {
    port: config.PORT,
    logger,
    readiness,
    onShutdown: async () => {
      await publisher.close();
      await pubsub.close();
      await tracing.shutdown();
    },
  });
  logger.info(
    {
      port: running.port,
      topic: config.PUBSUB_TOPIC,
      secrets: config.STRIPE_WEBHOOK_SECRET.length,
      allowlist: config.STRIPE_EVENT_TYPES,
      sendgrid_events: sendgrid ? "verified" : "off",
      dispatch_links: config.DISPATCH_LINK_SECRET ? "on" : "off",
      emulator: config.PUBSUB_EMULATOR_HOST ?? null,
      traces: tracing.exporter,
    },
    "receiver ready",
  );
}

main().catch((err: unknown) => exitOnStartupError(createLogger({ service: "receiver" }), err));
