import Koa from "koa";
import Router from "@koa/router";
import type { Logger } from "../common/logger.js";
import { DISPATCH_CONFIRMED_TYPE, eventAttributes, noticeOf, SENDGRID_EVENTS_TYPE } from "../common/event.js";
import { healthMiddleware, requestMiddleware, type RequestState } from "../common/http.js";
import { DeadlineGroup, type MessagePublisher } from "../common/pubsub.js";
import { injectTrace } from "../common/tracing.js";
import { AppError } from "../common/errors.js";
import { readRawBody, MAX_BODY_BYTES } from "../common/read-raw-body.js";
import { verifyStripeWebhook, WebhookRejectedError } from "./verify-signature.js";
import {
  MAX_SENDGRID_BODY_BYTES,
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  SendGridWebhookRejectedError,
  type SendGridWebhookVerifier,
} from "./verify-sendgrid.js";

import { verifyDispatchToken } from "../common/dispatch-token.js";
import { orderReference } from "../common/order-reference.js";
import {
  DISPATCH_CSP,
  dispatchForm,
  dispatchMessage,
  recordedPage,
  refusedPage,
  unavailablePage,
  validateDispatch,
} from "./dispatch-page.js";

export const WEBHOOK_PATHS = ["/webhooks/stripe", "/webhook_succesful_payment"] as const;
/** The warehouse's form behind each order email's signed link (DESIGN 5b). */
export const DISPATCH_PATH = "/dispatch/:token";
const MAX_DISPATCH_FORM_BYTES = 8 * 1024;
export const SENDGRID_WEBHOOK_PATH = "/webhooks/sendgrid";

export interface ReceiverDeps {
  webhookSecrets: readonly string[];
  /** Allowlist of event types to publish (snapshot names; a thin `v1.` twin matches too); empty means all. */
  eventTypes?: readonly string[];
  publisher: MessagePublisher;
  /** Bound on one publish: past it the answer is 503 and Stripe retries. */
  publishTimeoutMs: number;
  logger: Logger;
  /** SendGrid's signed Event Webhook; without it `/webhooks/sendgrid` answers 404. */
  sendgrid?: SendGridWebhookVerifier | undefined;
  /** DISPATCH_LINK_SECRET; without it `/dispatch/…` answers 404. */
  dispatchSecret?: string | undefined;
  project?: string;
  isReady?: () => boolean;
  now?: () => number;
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
    const payload = await readRawBody(ctx.req, MAX_BODY_BYTES);
    const header = ctx.req.headers["stripe-signature"]; // node joins a repeated header into one string
    let event;
    try {
      event = verifyStripeWebhook({
        payload,
        header: typeof header === "string" ? header : undefined,
        secrets: deps.webhookSecrets,
        now: receivedAt,
      });
    } catch (err) {
      if (err instanceof WebhookRejectedError) state.logFields = { outcome: "rejected", reason: err.reason };
      throw err;
    }
    const notice = noticeOf(event);
    state.logFields = {
      source: "stripe",
      event_id: event.id,
      event_type: event.type,
      payload_style: notice.style,
    };
    if (allowed && !allowed.has(event.type) && !allowed.has(notice.type)) {
      state.logFields.outcome = "not_allowlisted";
      ctx.body = { received: true, event_id: event.id, published: false };
      return;
    }
    const attributes = eventAttributes(event, receivedAt, notice);
    // The fulfiller continues this request's trace from the message.
    injectTrace(state.trace, attributes);
    const messageId = await publish(state, payload, attributes);
    ctx.body = { received: true, event_id: event.id, message_id: messageId };
  };
  for (const path of WEBHOOK_PATHS) router.post(path, receive);

  /** Awaits the publish under its bound: 503 (the sender retries) unless Pub/Sub has it. */
  const deadline = new DeadlineGroup(deps.publishTimeoutMs, "publish");
  const publish = async (
    state: RequestState,
    payload: Buffer,
    attributes: Record<string, string>,
  ): Promise<string> => {
    try {
      const messageId = await deadline.run(deps.publisher.publish(payload, attributes));
      state.logFields.outcome = "published";
      state.logFields.message_id = messageId;
      return messageId;
    } catch (err) {
      state.logFields.outcome = "publish_failed";
      throw new AppError("could not hand the event to Pub/Sub; retry later", {
        status: 503,
        code: "unavailable",
        cause: err,
      });
    }
  };

  // SendGrid's Event Webhook: a signed batch, published unchanged as one message.
  router.post(SENDGRID_WEBHOOK_PATH, async (ctx) => {
    const state = ctx.state as RequestState;
    state.logFields = { source: "sendgrid", event_type: SENDGRID_EVENTS_TYPE };
    if (!deps.sendgrid) {
      state.logFields.outcome = "not_configured";
      throw new AppError("not found", { status: 404, code: "not_found" });
    }
    const receivedAt = now();
    const payload = await readRawBody(ctx.req, MAX_SENDGRID_BODY_BYTES);
    let events;
    try {
      events = deps.sendgrid.verify({
        payload,
        signature: ctx.get(SENDGRID_SIGNATURE_HEADER) || undefined,
        timestamp: ctx.get(SENDGRID_TIMESTAMP_HEADER) || undefined,
        now: receivedAt,
      });
    } catch (err) {
      if (err instanceof SendGridWebhookRejectedError)
        Object.assign(state.logFields, { outcome: "rejected", reason: err.reason });
      throw err;
    }
    state.logFields.event_count = events.length;
    const attributes: Record<string, string> = {
      source: "sendgrid",
      event_type: SENDGRID_EVENTS_TYPE,
      event_count: String(events.length),
      received_at: new Date(receivedAt).toISOString(),
    };
    injectTrace(state.trace, attributes);
    const messageId = await publish(state, payload, attributes);
    ctx.body = { received: true, event_count: events.length, message_id: messageId };
  });

  // The warehouse's dispatch form, from the order email's signed link (DESIGN 5b).
  const dispatchToken = (ctx: Koa.Context): { sessionId: string } | null => {
    const state = ctx.state as RequestState;
    const secret = deps.dispatchSecret;
    state.logFields = { source: "warehouse", event_type: DISPATCH_CONFIRMED_TYPE };
    if (!secret) {
      state.logFields.outcome = "not_configured";
      throw new AppError("not found", { status: 404, code: "not_found" });
    }
    const { token } = (ctx as unknown as { params: { token?: string } }).params;
    const check = verifyDispatchToken(secret, token ?? "", new Date(now()));
    ctx.set("content-security-policy", DISPATCH_CSP);
    ctx.set("cache-control", "no-store");
    ctx.set("x-content-type-options", "nosniff");
    ctx.set("referrer-policy", "no-referrer");
    ctx.type = "text/html; charset=utf-8";
    if (!check.ok) {
      Object.assign(state.logFields, { outcome: "rejected", reason: check.reason });
      ctx.status = check.reason === "expired" ? 410 : 403;
      ctx.body = refusedPage(check.reason, check.expiresAt);
      return null;
    }
    state.logFields.session_id = check.sessionId;
    return { sessionId: check.sessionId };
  };
  router.get(DISPATCH_PATH, (ctx) => {
    const token = dispatchToken(ctx);
    if (!token) return;
    (ctx.state as RequestState).logFields.outcome = "form";
    ctx.body = dispatchForm(orderReference(token.sessionId));
  });
  router.post(DISPATCH_PATH, async (ctx) => {
    const token = dispatchToken(ctx);
    if (!token) return;
    const state = ctx.state as RequestState;
    const ref = orderReference(token.sessionId);
    const form = validateDispatch(
      new URLSearchParams((await readRawBody(ctx.req, MAX_DISPATCH_FORM_BYTES)).toString("utf8")),
    );
    if (!form.ok) {
      Object.assign(state.logFields, { outcome: "invalid", reason: form.problem });
      ctx.status = 400;
      ctx.body = dispatchForm(ref, form.values, form.problem);
      return;
    }
    const message = dispatchMessage(token.sessionId, form.values, new Date(now()));
    const attributes: Record<string, string> = {
      source: "warehouse",
      event_id: message.id,
      event_type: DISPATCH_CONFIRMED_TYPE,
      object_id: token.sessionId,
      received_at: new Date(now()).toISOString(),
    };
    injectTrace(state.trace, attributes);
    try {
      await publish(state, Buffer.from(JSON.stringify(message)), attributes);
    } catch {
      ctx.status = 503;
      ctx.type = "text/html; charset=utf-8";
      ctx.body = unavailablePage();
      return;
    }
    ctx.body = recordedPage(ref, form.values);
  });

  app.use(requestMiddleware(deps.logger, deps.project));
  app.use(healthMiddleware(deps.isReady ?? (() => true)));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
