/**
 * One trace per order (DESIGN section 11), with OpenTelemetry's API in the code. The
 * receiver continues the trace of the webhook request (W3C `traceparent`, which Cloud Run
 * sends, else Google's `X-Cloud-Trace-Context`) and carries it to the fulfiller in the
 * message's `traceparent` attribute; the fulfiller continues it with spans for the claim,
 * each Stripe call, the send and each record write. Every log line of a request or a
 * delivery carries `logging.googleapis.com/trace` and `spanId`, so logs and traces join.
 *
 * Spans are exported only where an exporter is chosen (OTEL_TRACES_EXPORTER=gcp, the
 * default on Cloud Run, or console); elsewhere the API is a no-op and only the ids
 * travel, which is all the log correlation needs.
 */
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Context,
  type Span,
  type SpanContext,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

const w3c = new W3CTraceContextPropagator();
/** Asked for each span, not kept: a ProxyTracer keeps the first provider it saw. */
const tracer = () => trace.getTracer("stripe-fulfilment");

export { ROOT_CONTEXT, SpanKind, type Context };

/** `TRACE_ID/SPAN_ID;o=OPTIONS`, the span id in decimal. */
export function parseCloudTraceContext(header: string | undefined): SpanContext | null {
  const match = header ? /^([0-9a-fA-F]{32})\/(\d{1,20})(?:;o=(\d))?/.exec(header) : null;
  if (!match) return null;
  let spanId: string;
  try {
    spanId = BigInt(match[2]!).toString(16).padStart(16, "0");
  } catch {
    return null;
  }
  const context: SpanContext = {
    traceId: match[1]!.toLowerCase(),
    spanId: spanId.slice(-16),
    traceFlags: match[3] === "1" ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  };
  return isSpanContextValid(context) ? context : null;
}

/** The parent of an incoming request or message: `traceparent` (+ `tracestate`), else X-Cloud-Trace-Context. */
export function extractParent(
  carrier: Record<string, string | string[] | undefined>,
  cloudTraceContext?: string,
): Context {
  const extracted = w3c.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
  if (trace.getSpanContext(extracted)) return extracted;
  const parsed = parseCloudTraceContext(cloudTraceContext);
  return parsed ? trace.setSpanContext(ROOT_CONTEXT, parsed) : ROOT_CONTEXT;
}

/** Adds `traceparent` (and `tracestate`) for `context` to message attributes. */
export function injectTrace(context: Context, attributes: Record<string, string>): void {
  if (context === ROOT_CONTEXT) return; // no trace to carry
  w3c.inject(context, attributes, defaultTextMapSetter);
}

/** The no-op provider the API delegates to until an SDK registers one. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
/** What a span without an SDK and without a parent is: nothing to record, no ids to carry. */
const NO_SPAN = { span: trace.wrapSpanContext(INVALID_SPAN_CONTEXT), context: ROOT_CONTEXT };

/** Whether an SDK is registered (spans are recorded), rather than the API's no-op. */
function recording(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
}

/** A child span of `parent`; without an SDK a non-recording span that keeps the parent's ids. */
export function startSpan(
  name: string,
  parent: Context,
  kind: SpanKind = SpanKind.INTERNAL,
): { span: Span; context: Context } {
  // The receiver's hot path when no SDK is registered and the caller sent no trace.
  if (parent === ROOT_CONTEXT && !recording()) return NO_SPAN;
  const span = tracer().startSpan(name, { kind }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** Runs `fn` in a child span of `parent`, ended with its outcome; no parent, no span. */
export async function inSpan<T>(name: string, parent: Context | undefined, fn: () => Promise<T>): Promise<T> {
  if (!parent) return fn();
  const { span } = startSpan(name, parent, SpanKind.CLIENT);
  try {
    return await fn();
  } catch (err) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}

/** The fields that join a log line to its trace in Cloud Logging; none without a trace. */
export function logTraceFields(
  context: Context,
  project: string | undefined,
): Record<string, string | boolean> {
  if (context === ROOT_CONTEXT) return {};
  const span = trace.getSpanContext(context);
  if (!span || !isSpanContextValid(span)) return {};
  return {
    "logging.googleapis.com/trace": project ? `projects/${project}/traces/${span.traceId}` : span.traceId,
    "logging.googleapis.com/spanId": span.spanId,
    "logging.googleapis.com/trace_sampled": Boolean(span.traceFlags & TraceFlags.SAMPLED),
  };
}

export type TracesExporter = "gcp" | "console" | "none";

/**
 * Registers the SDK when spans are to be exported: `OTEL_TRACES_EXPORTER=gcp` (Cloud
 * Trace; the default on Cloud Run, where K_SERVICE is set) or `console`. Returns what
 * flushes the spans at shutdown. Loaded lazily: without an exporter nothing is imported.
 */
export async function setupTracing(
  service: string,
  env: NodeJS.ProcessEnv,
): Promise<{ exporter: TracesExporter; shutdown: () => Promise<void> }> {
  const chosen = env.OTEL_TRACES_EXPORTER ?? (env.K_SERVICE ? "gcp" : "none");
  const exporter: TracesExporter = chosen === "gcp" || chosen === "console" ? chosen : "none";
  if (exporter === "none") return { exporter, shutdown: () => Promise.resolve() };
  const sdk = await import("@opentelemetry/sdk-trace-node");
  const { resourceFromAttributes } = await import("@opentelemetry/resources");
  const processor =
    exporter === "console"
      ? new sdk.SimpleSpanProcessor(new sdk.ConsoleSpanExporter())
      : new sdk.BatchSpanProcessor(
          new (await import("@google-cloud/opentelemetry-cloud-trace-exporter")).TraceExporter(),
        );
  const provider = new sdk.NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": service }),
    spanProcessors: [processor],
  });
  // No context manager (AsyncLocalStorage on every promise): the code passes each
  // request's and delivery's context explicitly, and there is no auto-instrumentation.
  provider.register({ contextManager: null });
  return { exporter, shutdown: () => provider.shutdown() };
}
