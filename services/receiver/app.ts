import Koa from "koa";
import Router from "@koa/router";
import type { Logger } from "../common/logger.js";
import { eventAttributes } from "../common/event.js";
import { healthMiddleware, requestMiddleware, type RequestState } from "../common/http.js";
import { withDeadline, type MessagePublisher } from "../common/pubsub.js";
import { AppError } from "../common/errors.js";
import { readRawBody, MAX_BODY_BYTES } from "../common/read-raw-body.js";
import { verifyStripeWebhook, WebhookRejectedError } from "./verify-signature.js";

export const WEBHOOK_PATHS = ["/webhooks/stripe", "/webhook_succesful_payment"] as const;

export interface ReceiverDeps {
  webhookSecrets: readonly string[];
  /** Allowlist of event types to publish; empty means all. */
  eventTypes?: readonly string[];
  publisher: MessagePublisher;
  /** Bound on one publish: past it the answer is 503 and Stripe retries. */
  publishTimeoutMs: number;
  logger: Logger;
  project?: string;
  isReady?: () => boolean;
  now?: () => number;
  maxBodyBytes?: number;
}

/** The receiver as a Koa app. Does no I/O until a request arrives. */
export function createApp(deps: ReceiverDeps): Koa {
  const now = deps.now ?? Date.now;
  const allowed = deps.eventTypes && deps.eventTypes.length > 0 ? new Set(deps.eventTypes) : undefined;
  const app = new Koa();
  app.proxy = true;
  app.silent = true; // errors are logged once by requestMiddleware

  const router = new Router();
  const receive: Koa.Middleware = async (ctx) => {
    const state = ctx.state as RequestState;
    const receivedAt = now();
    const payload = await readRawBody(ctx.req, deps.maxBodyBytes ?? MAX_BODY_BYTES);
    let event;
    try {
      event = verifyStripeWebhook({
        payload,
        header: ctx.get("Stripe-Signature") || undefined,
        secrets: deps.webhookSecrets,
        now: receivedAt,
      });
    } catch (err) {
      if (err instanceof WebhookRejectedError) state.logFields = { outcome: "rejected", reason: err.reason };
      throw err;
    }
    state.logFields = { event_id: event.id, event_type: event.type };
    if (allowed && !allowed.has(event.type)) {
      state.logFields.outcome = "not_allowlisted";
      ctx.body = { received: true, event_id: event.id, published: false };
      return;
    }
    const attributes = eventAttributes(event, new Date(receivedAt));
    try {
      const messageId = await withDeadline(
        deps.publisher.publish(payload, attributes),
        deps.publishTimeoutMs,
        "publish",
      );
      state.logFields.outcome = "published";
      state.logFields.message_id = messageId;
      ctx.body = { received: true, event_id: event.id, message_id: messageId };
    } catch (err) {
      state.logFields.outcome = "publish_failed";
      throw new AppError("could not hand the event to Pub/Sub; retry later", {
        status: 503,
        code: "unavailable",
        cause: err,
      });
    }
  };
  for (const path of WEBHOOK_PATHS) router.post(path, receive);

  app.use(requestMiddleware(deps.logger, deps.project));
  app.use(healthMiddleware(deps.isReady ?? (() => true)));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
