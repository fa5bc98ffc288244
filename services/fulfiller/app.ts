import Koa from "koa";
import Router from "@koa/router";
import type { Logger } from "../common/logger.js";
import { AppError } from "../common/errors.js";
import { healthMiddleware, requestMiddleware, type RequestState } from "../common/http.js";
import { readRawBody } from "../common/read-raw-body.js";
import { extractParent, logTraceFields, SpanKind, startSpan } from "../common/tracing.js";
import { trace } from "@opentelemetry/api";
import type { Fulfiller } from "./fulfil-order.js";
import { parsePushEnvelope } from "./push/push-envelope.js";
import { PushAuthError, type PushAuthenticator } from "./push/push-auth.js";

/** A push envelope carries at most a 10 MB message, base64-encoded. */
const MAX_ENVELOPE_BYTES = 16 * 1024 * 1024;

export interface FulfillerAppDeps {
  fulfiller: Fulfiller;
  authenticate: PushAuthenticator;
  logger: Logger;
  project?: string;
  isReady?: () => boolean;
}

/** The fulfiller as a Koa app: `POST /pubsub/push`. Does no I/O until a request arrives. */
export function createApp(deps: FulfillerAppDeps): Koa {
  const app = new Koa();
  app.proxy = true;
  app.silent = true;
  const router = new Router();

  router.post("/pubsub/push", async (ctx) => {
    const state = ctx.state as RequestState;
    try {
      await deps.authenticate({
        authorization: ctx.get("Authorization") || undefined,
        serverlessAuthorization:
          ctx.req.headers["x-serverless-authorization"] === undefined
            ? undefined
            : ctx.get("X-Serverless-Authorization"),
      });
    } catch (err) {
      if (err instanceof PushAuthError) {
        state.logFields = { outcome: "refused", reason: err.reason };
        if (err.misconfiguration)
          state.log.error({ alert: "push_auth_misconfigured", reason: err.reason }, err.misconfiguration);
      }
      throw err;
    }
    const raw = await readRawBody(ctx.req, MAX_ENVELOPE_BYTES);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      throw new AppError("push body is not JSON", { status: 400, code: "bad_envelope" });
    }
    const message = parsePushEnvelope(body);
    state.logFields = {
      message_id: message.messageId,
      event_id: message.attributes.event_id,
      event_type: message.attributes.event_type,
      delivery_attempt: message.deliveryAttempt,
    };
    // The delivery belongs to the order's trace, begun at the webhook: its lines and spans
    // join that one (the push request's own trace is Pub/Sub's).
    const parent = extractParent(message.attributes);
    let delivery;
    if (trace.getSpanContext(parent)) {
      delivery = startSpan(
        `deliver ${message.attributes.event_type ?? "message"}`,
        parent,
        SpanKind.CONSUMER,
      );
      state.trace = delivery.context;
      state.log = deps.logger.child(logTraceFields(delivery.context, deps.project));
    }
    let outcome;
    try {
      outcome = await deps.fulfiller.handlePush(message, state.log, state.trace);
    } finally {
      delivery?.span.end();
    }
    Object.assign(state.logFields, {
      outcome: outcome.result,
      session_id: outcome.sessionId,
      reason: outcome.reason,
    });
    if (outcome.ack) {
      ctx.status = 204;
      return;
    }
    ctx.status = 503;
    ctx.body = { error: outcome.result };
  });

  app.use(requestMiddleware(deps.logger, deps.project));
  app.use(healthMiddleware(deps.isReady ?? (() => true)));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
