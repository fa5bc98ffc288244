/**
 * (a) The receiver as shipped: its createApp, publisher and serve(), logging one line
 * per request at info as in production (stdout is discarded by the harness).
 */
import { createApp } from "../../services/receiver/app.js";
import { SendGridWebhookVerifier } from "../../services/receiver/verify-sendgrid.js";
import { createLogger } from "../../services/common/logger.js";
import { serve } from "../../services/common/http.js";
import { announce, benchPublisher, env } from "./common.js";

// BENCH_TRACING=1: the SDK registered as in production, spans batched to an exporter that
// drops them (the network export itself is Cloud Trace's, asynchronous and off the request).
if (process.env.BENCH_TRACING === "1") {
  const sdk = await import("@opentelemetry/sdk-trace-node");
  const provider = new sdk.NodeTracerProvider({
    spanProcessors: [
      new sdk.BatchSpanProcessor({
        export: (_spans, done) => done({ code: 0 }),
        shutdown: () => Promise.resolve(),
      }),
    ],
  });
  provider.register({ contextManager: null }); // as setupTracing does
}
const publisher = await benchPublisher();
const logger = createLogger({
  service: "receiver",
  level: process.env.BENCH_LOG_LEVEL === "warn" ? "warn" : "info",
});
const app = createApp({
  webhookSecrets: [env.secret],
  publisher,
  publishTimeoutMs: 4000,
  logger,
  ...(process.env.BENCH_SENDGRID_KEY
    ? { sendgrid: new SendGridWebhookVerifier(process.env.BENCH_SENDGRID_KEY) }
    : {}),
});
const running = await serve(app, { port: env.port, host: "127.0.0.1", logger });
logger.info("bench receiver ready");
announce(running.port);
