import { createHmac } from "node:crypto";
import { expect } from "chai";
import Stripe from "stripe";
import { verifyStripeWebhook, WebhookRejectedError } from "../../../services/receiver/verify-signature.js";
import { buildEvent, buildSession } from "../../../services/local/stripe/objects.js";
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

  it("when no secret matches, then invalid_signature in Stripe's words and how many secrets were tried; with none configured, says so", () => {
    expect(verdict(payload, signPayload(payload, OTHER, NOW_S))).to.equal(
      "invalid_signature: No signatures found matching the expected signature for payload (1 secret tried)",
    );
    expect(verdict(payload, signPayload(payload, "whsec_third", NOW_S), [TEST_SECRET, OTHER])).to.equal(
      "invalid_signature: No signatures found matching the expected signature for payload (2 secrets tried)",
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
    expect(verdict(payload, `t=abc,${v1}`)).to.equal(
      "invalid_signature: timestamp is not a whole number of seconds",
    );
    // Each of these t values reads as a number to Number() or parseInt(); signed over that number, still refused.
    for (const odd of [
      `${NOW_S}abc`,
      `${NOW_S}.0`,
      ` ${NOW_S}`,
      `0x${NOW_S.toString(16)}`,
      `${NOW_S / 100}e2`,
      "",
    ]) {
      const asNumber = Number.isNaN(Number(odd)) ? Number.parseInt(odd, 10) : Number(odd);
      const signedOverIt = signPayload(payload, TEST_SECRET, asNumber).split(",")[1];
      expect(verdict(payload, `t=${odd},${signedOverIt}`), odd).to.equal(
        "invalid_signature: timestamp is not a whole number of seconds",
      );
    }
    expect(verdict(payload, `t,${v1}`)).to.equal(
      "invalid_signature: timestamp is not a whole number of seconds",
    );
    expect(verdict(payload, v1)).to.equal(
      "invalid_signature: Unable to extract timestamp and signatures from header",
    );
    expect(verdict(payload, `${t},v0=${v1!.slice(3)}`)).to.equal(
      "invalid_signature: No signatures found with expected scheme",
    );
    expect(verdict(payload, signPayload(payload, TEST_SECRET, NOW_S - 301))).to.equal(
      "invalid_signature: Timestamp outside the tolerance zone",
    );
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

  describe("against stripe-node's verifyHeader, header by header", () => {
    const body = JSON.stringify({ ...event, note: "Grüße, naïve café: ü € 😀" });
    const hmac = (secret: string, t: string | number) =>
      createHmac("sha256", secret).update(`${t}.${body}`, "utf8").digest("hex");
    const timestamps: (string | null)[] = [
      `${NOW_S}`,
      `${NOW_S - 300}`,
      `${NOW_S - 301}`,
      `${NOW_S + 300}`,
      `${NOW_S + 301}`,
      `0${NOW_S}`,
      `${NOW_S}abc`,
      "abc",
      "",
      "-1",
      null,
    ];
    const signatureParts = (t: string): string[][] => {
      const good = hmac(TEST_SECRET, Number.parseInt(t, 10));
      const bad = hmac(OTHER, Number.parseInt(t, 10));
      return [
        [`v1=${good}`],
        [`v1=${bad}`],
        [`v1=${bad}`, `v1=${good}`],
        [`v1=${good}`, `v1=${bad}`],
        [`v1=${good.toUpperCase()}`],
        [`v1=${good}=x`],
        [`v1=${good.slice(0, 63)}`],
        [`v1=${good}0`],
        [` v1=${good}`],
        [`v1= ${good}`],
        [`V1=${good}`],
        [`v0=${good}`],
        [`v0=${bad}`, `v1=${good}`],
        [`v2=${good}`],
        [`v1=${hmac(TEST_SECRET, t)}`],
        [],
      ];
    };

    function sdkAccepts(header: string, secrets: string[]): boolean {
      return secrets.some((secret) => {
        try {
          return Stripe.webhooks.signature!.verifyHeader(body, header, secret, 300, undefined, NOW);
        } catch {
          return false;
        }
      });
    }

    it("then every header either accepts is accepted by both, unless its t is not digits or is over 300 s ahead (only ours refuses those)", () => {
      let both = 0;
      let onlySdk = 0;
      let compared = 0;
      for (const t of timestamps) {
        for (const parts of signatureParts(t ?? "")) {
          for (const tFirst of [true, false]) {
            const tPart = t === null ? [] : [`t=${t}`];
            const header = (tFirst ? [...tPart, ...parts] : [...parts, ...tPart]).join(",");
            if (header === "") continue;
            for (const secrets of [[TEST_SECRET], [OTHER, TEST_SECRET]]) {
              compared++;
              const sdk = sdkAccepts(header, secrets);
              const ours = verdict(body, header, secrets).startsWith("ok ");
              const stricter = t !== null && (!/^\d+$/.test(t) || Number(t) - NOW_S > 300);
              if (ours) expect(sdk, `we accept what stripe-node refuses: ${header}`).to.equal(true);
              if (sdk && !stricter)
                expect(ours, `stripe-node accepts what we refuse: ${header}`).to.equal(true);
              if (ours && sdk) both++;
              if (sdk && !ours) onlySdk++;
            }
          }
        }
      }
      expect(compared).to.be.greaterThan(600);
      // Not vacuous: many headers verify, and the only difference is the stricter t.
      expect(both).to.be.greaterThan(60);
      expect(onlySdk).to.be.greaterThan(0);
    });
  });
});
