import http from "node:http";
import type Koa from "koa";
import { AppError } from "./errors.js";
import type { Logger } from "./logger.js";
import { extractParent, logTraceFields, ROOT_CONTEXT, SpanKind, startSpan, type Context } from "./tracing.js";

/** What every request handler may add to its one log line. */
export interface RequestState {
  /** The request's logger: bound to its trace when there is one (made on first use). */
  log: Logger;
  logFields: Record<string, unknown>;
  /** The request's span: what it publishes or calls continues its trace. */
  trace: Context;
}

/**
 * A request's state. The child logger that binds the trace is made only if a handler
 * asks for `log` (most requests log nothing but their one line, which takes the trace
 * fields directly); a handler may also replace it, e.g. with one bound to another trace.
 */
class RequestLogState implements RequestState {
  logFields: Record<string, unknown> = {};
  /** Set once `log` was asked for or replaced: the request's line goes through it. */
  chosen: Logger | undefined;

  constructor(
    private readonly logger: Logger,
    readonly traceFields: Record<string, string | boolean> | undefined,
    public trace: Context,
  ) {}

  get log(): Logger {
    return (this.chosen ??= this.traceFields ? this.logger.child(this.traceFields) : this.logger);
  }

  set log(logger: Logger) {
    this.chosen = logger;
  }

  /** The request's one line, with the trace fields (bound or merged). */
  write(severity: "error" | "info" | "debug", line: Record<string, unknown>, message: string): void {
    if (this.chosen) this.chosen[severity](line, message);
    else this.logger[severity](this.traceFields ? { ...this.traceFields, ...line } : line, message);
  }
}

/**
 * Outermost middleware: trace correlation, errors mapped to JSON answers (messages shown
 * for 4xx only), and exactly one structured log line per request with its outcome and
 * latency. This runs on every webhook, so it reads each request property once and makes
 * no span, child logger or context it does not need (docs/BENCHMARKS.md, "Where the
 * receiver's time goes").
 */
export function requestMiddleware(logger: Logger, project: string | undefined): Koa.Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    const headers = ctx.req.headers;
    const method = ctx.method;
    const path = ctx.path;
    // Continue the caller's trace (Cloud Run sends traceparent); the span is a no-op
    // without an exporter.
    const cloudTrace = headers["x-cloud-trace-context"];
    const parent =
      headers.traceparent === undefined && cloudTrace === undefined
        ? ROOT_CONTEXT
        : extractParent(headers, typeof cloudTrace === "string" ? cloudTrace : undefined);
    const { span, context } = startSpan(`${method} ${path}`, parent, SpanKind.SERVER);
    const fields = logTraceFields(context, project);
    const state = new RequestLogState(
      logger,
      "logging.googleapis.com/trace" in fields ? fields : undefined,
      context,
    );
    ctx.state = state;
    let failure: unknown;
    try {
      await next();
    } catch (err) {
      failure = err;
      const appError = err instanceof AppError ? err : undefined;
      ctx.status = appError?.status ?? (isHttpError(err) ? err.status : 500);
      const expose = appError ? appError.expose : ctx.status < 500;
      ctx.body = {
        error: appError?.code ?? (ctx.status < 500 ? "bad_request" : "internal"),
        ...(expose && err instanceof Error ? { message: err.message } : {}),
      };
    }
    const status = ctx.status;
    const latencyMs = performance.now() - started;
    const line: Record<string, unknown> = Object.assign(
      {
        httpRequest: {
          requestMethod: method,
          requestUrl: path,
          status,
          latency: `${(latencyMs / 1000).toFixed(6)}s`,
        },
        latency_ms: Math.round(latencyMs * 100) / 100,
      },
      state.logFields,
    );
    if (failure !== undefined && status >= 500) line.err = serializeError(failure);
    span.setAttribute("http.response.status_code", status);
    span.end();
    const message = `${method} ${path} ${status}`;
    if (status >= 500) state.write("error", line, message);
    else if (path === "/health" || path === "/ready") state.write("debug", line, message);
    else state.write("info", line, message);
  };
}

function isHttpError(err: unknown): err is { status: number } {
  return (
    typeof err === "object" &&
    err !== null &&
    typeof (err as { status?: unknown }).status === "number" &&
    (err as { status: number }).status >= 400 &&
    (err as { status: number }).status < 600
  );
}

/** Errors in logs: name, code and message, never request bodies. */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const out: Record<string, unknown> = { name: err.name, message: err.message };
  if (err instanceof AppError) out.code = err.code;
  if (err.cause !== undefined)
    out.cause = err.cause instanceof Error ? err.cause.message : JSON.stringify(err.cause);
  return out;
}

/** `/health`: the process is up. `/ready`: configuration, secrets and clients are in place. */
export function healthMiddleware(isReady: () => boolean): Koa.Middleware {
  // Not async: every request passes through here, and most go straight on.
  return (ctx, next) => {
    const path = ctx.path;
    if ((path === "/health" || path === "/ready") && ctx.method === "GET") {
      if (path === "/health") {
        ctx.body = { status: "ok" };
      } else {
        const ready = isReady();
        ctx.status = ready ? 200 : 503;
        ctx.body = { status: ready ? "ready" : "starting" };
      }
      return Promise.resolve();
    }
    return next();
  };
}

/** Whether a service is ready: off until it listens, off again once it starts draining. */
export class Readiness {
  private ready = false;
  readonly check = (): boolean => this.ready;
  set(ready: boolean): void {
    this.ready = ready;
  }
}

export interface ServeOptions {
  port: number;
  host?: string;
  logger: Logger;
  /** Total time allowed from SIGTERM to exit (Cloud Run gives 10 s). */
  shutdownTimeoutMs?: number;
  /** Turned on once listening, off as soon as shutdown starts. */
  readiness?: Readiness;
  /** Called as soon as shutdown starts, before in-flight requests have finished. */
  onDrain?: () => void;
  /**
   * Called after in-flight requests finished (or were cut at the timeout), e.g. to
   * flush a publisher; gets the time left before the process must exit.
   */
  onShutdown?: (remainingMs: number) => Promise<void>;
  /** Slowloris bound: a request's headers and body must arrive within this. */
  requestTimeoutMs?: number;
  exit?: (code: number) => void;
  /** Install SIGTERM/SIGINT handlers (default true; tests that embed a server pass false). */
  handleSignals?: boolean;
}

export interface RunningServer {
  server: http.Server;
  port: number;
  /** Stop accepting, finish in-flight requests, run onShutdown. Resolves when done. */
  shutdown(reason: string): Promise<void>;
}

/**
 * Listens and installs SIGTERM/SIGINT handling: stop accepting new connections,
 * let requests already in flight finish, flush, exit, all within the timeout
 * (connections still open then are cut).
 */
export async function serve(app: Koa, options: ServeOptions): Promise<RunningServer> {
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 8000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const server = http.createServer(
    {
      // Slowloris bounds: Node checks these every connectionsCheckingInterval (default 30 s).
      requestTimeout,
      headersTimeout: Math.min(requestTimeout, 10_000),
      connectionsCheckingInterval: Math.min(1000, requestTimeout),
    },
    app.callback(),
  );
  server.keepAliveTimeout = 65_000; // above Google front ends' idle timeout
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  options.readiness?.set(true);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      const started = Date.now();
      options.logger.info({ reason }, "shutting down: draining in-flight requests");
      options.readiness?.set(false);
      options.onDrain?.();
      const force = setTimeout(() => {
        options.logger.warn("shutdown timeout reached: closing remaining connections");
        server.closeAllConnections();
      }, shutdownTimeoutMs - 1000);
      force.unref();
      // A keep-alive connection whose request finishes during the drain turns idle
      // afterwards; close those as they appear, or close() waits for the force timeout.
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      clearInterval(sweep);
      clearTimeout(force);
      if (options.onShutdown) {
        try {
          await options.onShutdown(Math.max(0, shutdownTimeoutMs - (Date.now() - started) - 250));
        } catch (err) {
          options.logger.error({ err: serializeError(err) }, "error during shutdown");
        }
      }
      options.logger.info("shutdown complete");
    })();
    return shuttingDown;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    const hardStop = setTimeout(() => exit(1), shutdownTimeoutMs);
    hardStop.unref();
    void shutdown(signal).then(() => {
      clearTimeout(hardStop);
      // pino writes stdout asynchronously: exiting with a write still in flight lets the
      // exit-time flush overtake it, and lines reach Cloud Logging out of order.
      options.logger.flush(() => exit(0));
    });
  };
  if (options.handleSignals !== false) {
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }
  return { server, port, shutdown };
}

/** Common start-up failure path for main.ts files: one clear message, exit 1. */
export function exitOnStartupError(logger: Logger, err: unknown): never {
  logger.fatal({ err: serializeError(err) }, err instanceof Error ? err.message : "start-up failed");
  process.exit(1);
}
