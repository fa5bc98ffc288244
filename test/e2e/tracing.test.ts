// One trace per order: the trace id of the webhook request, followed through the
// receiver, the message on the Pub/Sub emulator and its push, into every log line the
// fulfiller writes for that delivery (DESIGN section 11).
import { expect } from "chai";
import { randomBytes } from "node:crypto";
import Stripe from "stripe";
import { LOCAL } from "../../services/local/defaults.js";
import { buildEvent, buildLineItems, buildSession, SCALE_LINE } from "../../services/local/stripe/objects.js";
import { requireEmulators } from "../support/emulator-state.js";
import { startTestStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";

describe("e2e: one trace from the webhook to the email", function () {
  this.timeout(120_000);
  let stack: Awaited<ReturnType<typeof startTestStack>>;

  before(async function () {
    const env = requireEmulators(this);
    stack = await startTestStack("trace", env);
  });
  after(() => stack?.stop());

  /** A paid order's event posted with `headers`; returns the event id. */
  async function post(headers: Record<string, string>): Promise<string> {
    const spec = { lines: [SCALE_LINE] };
    const session = buildSession(spec);
    stack.stripe!.addCheckout({ session, lineItems: buildLineItems(spec) });
    const event = buildEvent({ type: "checkout.session.completed", object: session });
    const payload = JSON.stringify(event);
    const response = await fetch(`${stack.receiverUrl}/webhooks/stripe`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "stripe-signature": Stripe.webhooks.generateTestHeaderString({
          payload,
          secret: LOCAL.webhookSecret,
        }),
        ...headers,
      },
      body: payload,
    });
    expect(response.status).to.equal(200);
    return event.id as string;
  }

  /**
   * Every JSON line a service wrote that mentions `text`. A delivery's lines all carry its
   * event id (SendGrid's later delivery events for the same order are another delivery,
   * with SendGrid's request's own trace).
   */
  const linesOf = (service: "receiver" | "fulfiller", text: string) =>
    stack.lines
      .filter((l) => l.startsWith(`${service}| {`) && l.includes(text))
      .map((l) => JSON.parse(l.slice(l.indexOf("{"))) as Record<string, unknown>);

  const TRACE = "logging.googleapis.com/trace";

  it("when the webhook carries traceparent, then the receiver's line and every fulfiller line of the delivery carry its trace id", async () => {
    const traceId = randomBytes(16).toString("hex");
    const spanId = randomBytes(8).toString("hex");
    const eventId = await post({ traceparent: `00-${traceId}-${spanId}-01` });
    await waitFor("the order email", () =>
      linesOf("fulfiller", eventId).some((l) => l.message === "order email sent"),
    );
    await waitFor("the push request's line", () =>
      linesOf("fulfiller", eventId).some((l) => l.message === "POST /pubsub/push 204"),
    );
    const expected = `projects/${stack.project}/traces/${traceId}`;
    const [received] = linesOf("receiver", traceId);
    expect(received, "the receiver's request line").to.deep.include({
      [TRACE]: expected,
      "logging.googleapis.com/trace_sampled": true,
      message: "POST /webhooks/stripe 200",
    });
    const delivery = linesOf("fulfiller", eventId);
    expect(delivery.map((l) => l.message)).to.include.members([
      "order email accepted by SendGrid; recording it",
      "order email sent",
      "POST /pubsub/push 204",
    ]);
    for (const line of delivery) expect(line[TRACE], String(line.message)).to.equal(expected);
    const sent = delivery.find((l) => l.message === "order email sent")!;
    expect(sent.webhook_to_email_ms).to.be.a("number").and.be.at.least(0).and.below(30_000);
  });

  it("when the webhook carries only X-Cloud-Trace-Context, then that trace is followed the same way", async () => {
    const traceId = randomBytes(16).toString("hex");
    const eventId = await post({ "x-cloud-trace-context": `${traceId}/12345;o=1` });
    await waitFor("the order email", () =>
      linesOf("fulfiller", eventId).some((l) => l.message === "order email sent"),
    );
    const expected = `projects/${stack.project}/traces/${traceId}`;
    expect(linesOf("receiver", traceId)[0]).to.deep.include({
      [TRACE]: expected,
      "logging.googleapis.com/spanId": (12345).toString(16).padStart(16, "0"),
    });
    for (const line of linesOf("fulfiller", eventId))
      expect(line[TRACE], String(line.message)).to.equal(expected);
  });
});
