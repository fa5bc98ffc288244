// The tracing set-up: no SDK (and no cost) unless an exporter is chosen; with one, the
// spans of a delivery are children of the message's trace.
import { expect } from "chai";
import { context, propagation, trace } from "@opentelemetry/api";
import { extractParent, inSpan, setupTracing } from "../../../services/common/tracing.js";

describe("unit: tracing set-up", () => {
  const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

  it("when no exporter is chosen (and not on Cloud Run), then nothing is registered and spans cost nothing", async () => {
    const tracing = await setupTracing("test", {});
    expect(tracing.exporter).to.equal("none");
    const { span } = { span: trace.getTracer("t").startSpan("x") };
    expect(span.isRecording()).to.equal(false);
    await tracing.shutdown();
  });

  it("when on Cloud Run (K_SERVICE set), then Cloud Trace is the default; an unknown name means none", async () => {
    // Only the choice is checked here: registering the Cloud Trace exporter needs Google credentials.
    expect((await setupTracing("test", { OTEL_TRACES_EXPORTER: "jaeger" })).exporter).to.equal("none");
    expect((await setupTracing("test", { OTEL_TRACES_EXPORTER: "none", K_SERVICE: "r" })).exporter).to.equal(
      "none",
    );
  });

  it("when the console exporter is chosen, then each call is a recorded span, child of the message's trace, named for the call", async () => {
    const printed: unknown[] = [];
    const dir = console.dir;
    const log = console.log;
    console.dir = (value: unknown) => void printed.push(value);
    console.log = (value: unknown) => void printed.push(value);
    const tracing = await setupTracing("fulfiller", { OTEL_TRACES_EXPORTER: "console" });
    try {
      expect(tracing.exporter).to.equal("console");
      const parent = extractParent({ traceparent });
      const value = await inSpan("reading the session", parent, () => Promise.resolve(42));
      expect(value).to.equal(42);
      await inSpan("sending the order email", parent, () => Promise.reject(new Error("SendGrid 500"))).catch(
        () => {},
      );
      await tracing.shutdown();
    } finally {
      console.dir = dir;
      console.log = log;
      trace.disable();
      context.disable();
      propagation.disable();
    }
    const spans = printed as {
      traceId: string;
      name: string;
      parentSpanContext?: { spanId: string };
      status: { code: number };
    }[];
    expect(spans.map((s) => s.name)).to.deep.equal(["reading the session", "sending the order email"]);
    for (const span of spans) {
      expect(span.traceId).to.equal("4bf92f3577b34da6a3ce929d0e0e4736");
      expect(span.parentSpanContext?.spanId).to.equal("00f067aa0ba902b7");
    }
    expect(spans.map((s) => s.status.code)).to.deep.equal([0, 2]); // unset, then error
  });
});
