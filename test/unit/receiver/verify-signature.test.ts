import { expect } from "chai";
import Stripe from "stripe";
import { verifyStripeWebhook, WebhookRejectedError } from "../../../services/receiver/verify-signature.js";
import { buildEvent, buildSession } from "../../../services/local/stripe-objects.js";
import { signPayload, TEST_SECRET } from "../../support/stripe-signing.js";

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const NOW_S = NOW / 1000;
const OTHER = "whsec_other_secret_for_rolling";

function verdict(payload: string, header: string | undefined, secrets = [TEST_SECRET]): string {
  try {
    const event = verifyStripeWebhook({ payload: Buffer.from(payload), header, secrets, now: NOW });
    return `ok ${event.id}`;
  } catch (err) {
    if (!(err instanceof WebhookRejectedError)) throw err;
    const shown = {
      missing_signature: "the Stripe-Signature header is required",
      invalid_signature: "the Stripe-Signature header does not verify",
      invalid_event: "the signed body is not a Stripe event",
    }[err.code as "missing_signature"];
    expect(err.message).to.equal(shown);
    expect(err.status).to.equal(400);
    return `${err.code}: ${err.reason}`;
  }
}

describe("unit: Stripe signature verification, step by step", () => {
  const event = buildEvent({ type: "checkout.session.completed", object: buildSession() });
  const payload = JSON.stringify(event);

  it("when the header is absent or blank, then missing_signature", () => {
    expect(verdict(payload, undefined)).to.equal("missing_signature: no Stripe-Signature header");
    expect(verdict(payload, "   ")).to.equal("missing_signature: no Stripe-Signature header");
  });

  it("when the body is empty, then invalid_signature before any secret is tried", () => {
    expect(verdict("", signPayload("", TEST_SECRET, NOW_S))).to.equal("invalid_signature: empty body");
  });

  it("when no secret matches, then invalid_signature with the SDK's first line; with none configured, says so", () => {
    expect(verdict(payload, signPayload(payload, OTHER, NOW_S))).to.match(
      /^invalid_signature: No signatures found matching the expected signature for payload/,
    );
    expect(verdict(payload, signPayload(payload, TEST_SECRET, NOW_S), [])).to.equal(
      "invalid_signature: no secret configured",
    );
  });

  it("when any one of several secrets matches, then the event is accepted", () => {
    expect(verdict(payload, signPayload(payload, OTHER, NOW_S), [TEST_SECRET, OTHER])).to.equal(
      `ok ${event.id as string}`,
    );
    expect(verdict(payload, signPayload(payload, TEST_SECRET, NOW_S), [TEST_SECRET, OTHER])).to.equal(
      `ok ${event.id as string}`,
    );
  });

  it("when the timestamp is 300 s in the future, then accepted; 301 s, refused", () => {
    expect(verdict(payload, signPayload(payload, TEST_SECRET, NOW_S + 300))).to.equal(
      `ok ${event.id as string}`,
    );
    expect(verdict(payload, signPayload(payload, TEST_SECRET, NOW_S + 301))).to.equal(
      "invalid_signature: timestamp is in the future beyond the tolerance",
    );
  });

  it("when the header carries t= after other parts, then it is read; a header whose t= is not a number is refused", () => {
    const header = signPayload(payload, TEST_SECRET, NOW_S);
    const [t, v1] = header.split(",");
    expect(verdict(payload, `${v1},${t}`)).to.equal(`ok ${event.id as string}`);
    const future = signPayload(payload, TEST_SECRET, NOW_S + 301).split(",");
    // The future check reads t= wherever it stands in the header.
    expect(verdict(payload, `${future[1]},${future[0]}`)).to.equal(
      "invalid_signature: timestamp is in the future beyond the tolerance",
    );
    expect(verdict(payload, `t=abc,${v1}`)).to.match(/^invalid_signature: /);
    // Only a part named exactly t counts: another key ending in t is not the timestamp.
    expect(verdict(payload, `xt=${NOW_S + 10_000},${t},${v1}`)).to.equal(`ok ${event.id as string}`);
  });

  it("when the signed body is not a Stripe event, then invalid_event with why", () => {
    const notJson = "a=b";
    expect(verdict(notJson, signPayload(notJson, TEST_SECRET, NOW_S))).to.equal(
      "invalid_event: signed body is not JSON",
    );
    const notEvent = JSON.stringify({ id: "evt_1", type: "x" });
    expect(verdict(notEvent, signPayload(notEvent, TEST_SECRET, NOW_S))).to.equal(
      "invalid_event: signed body lacks id, type or data.object",
    );
  });

  it("when the SDK's own helper generates the header, then it verifies (the same scheme)", () => {
    const header = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: TEST_SECRET,
      timestamp: NOW_S,
    });
    expect(verdict(payload, header)).to.equal(`ok ${event.id as string}`);
  });
});
