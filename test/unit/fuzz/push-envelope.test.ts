import { expect } from "chai";
import fc from "fast-check";
import { createApp } from "../../../services/fulfiller/app.js";
import { createPushAuthenticator } from "../../../services/fulfiller/push/push-auth.js";
import { BadEnvelopeError, parsePushEnvelope } from "../../../services/fulfiller/push/push-envelope.js";
import type { Fulfiller } from "../../../services/fulfiller/fulfil-order.js";
import { LogCapture } from "../../support/log-capture.js";
import { listen, type Listening } from "../../support/http.js";
import { rawRequest } from "../../support/raw-request.js";
import { FUZZ_RUNS, hostileBody, hostileHeaders, hostileJson } from "./arbitraries.js";

const AUD = "https://fulfiller.example/pubsub/push";
const SA = "push@p.iam.gserviceaccount.com";
const forwarded = (claims: unknown) =>
  `Bearer ${Buffer.from('{"alg":"RS256"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.SIGNATURE_REMOVED_BY_GOOGLE`;
const GOOD = forwarded({ aud: AUD, email: SA, email_verified: true, exp: Date.now() / 1000 + 3600 });

/** Envelope-shaped values with hostile parts, so the fuzz gets past the first check. */
const envelopeLike = fc.record(
  {
    message: fc.oneof(
      fc.record(
        {
          messageId: fc.oneof(fc.constant("1"), hostileJson),
          message_id: hostileJson,
          data: fc.oneof(
            fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString("base64")),
            fc.string(),
            hostileJson,
          ),
          attributes: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), hostileJson)), hostileJson),
          publishTime: hostileJson,
        },
        { requiredKeys: [] },
      ),
      hostileJson,
    ),
    subscription: hostileJson,
    deliveryAttempt: hostileJson,
  },
  { requiredKeys: [] },
);

describe("unit: fuzz, the push envelope under arbitrary bytes, headers and JSON", function () {
  this.timeout(120_000);
  let server: Listening;
  let handled = 0;
  before(async () => {
    const fulfiller = {
      handlePush: () => {
        handled += 1;
        return Promise.resolve({ ack: true, result: "ignored" as const });
      },
    };
    server = await listen(
      createApp({
        fulfiller: fulfiller as unknown as Fulfiller,
        authenticate: createPushAuthenticator({ mode: "cloud-run", audience: AUD, serviceAccount: SA }),
        logger: new LogCapture("fulfiller").logger,
      }),
    );
  });
  after(async () => server.close());

  it(`when ${FUZZ_RUNS} arbitrary values are parsed as envelopes, then each is read or refused with BadEnvelopeError, never another exception`, () => {
    let read = 0;
    fc.assert(
      fc.property(fc.oneof(envelopeLike, hostileJson), (value) => {
        try {
          const message = parsePushEnvelope(value);
          expect(message.messageId).to.be.a("string").and.not.equal("");
          expect(Object.values(message.attributes).every((a) => typeof a === "string")).to.equal(true);
          read += 1;
        } catch (err) {
          expect(err).to.be.instanceOf(BadEnvelopeError);
        }
      }),
      { numRuns: FUZZ_RUNS * 4 },
    );
    expect(read, "the fuzz produced envelopes that parse").to.be.greaterThan(0);
  });

  it(`when ${FUZZ_RUNS} arbitrary pushes arrive, then each is 204, 400, 401 or 403, and only an authenticated envelope reaches the fulfiller`, async () => {
    let admitted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          envelopeLike.map((e) => JSON.stringify(e)),
          hostileBody,
        ),
        fc.constantFrom("good", "none", "forged-email", "garbage", "pair"),
        hostileHeaders(["authorization", "x-serverless-authorization"]),
        async (body, auth, extra) => {
          const headers: [string, string][] = [["content-type", "application/json"], ...extra];
          if (auth === "good") headers.push(["authorization", GOOD]);
          if (auth === "forged-email")
            headers.push([
              "authorization",
              forwarded({ aud: AUD, email: "x@y.z", email_verified: true, exp: 9e9 }),
            ]);
          if (auth === "garbage") headers.push(["authorization", "Bearer a.b.c"]);
          if (auth === "pair")
            headers.push(
              [
                "x-serverless-authorization",
                forwarded({
                  aud: AUD,
                  email: "invoker@p.iam.gserviceaccount.com",
                  email_verified: true,
                  exp: 9e9,
                }),
              ],
              ["authorization", GOOD],
            );
          const before = handled;
          const response = await rawRequest(`${server.url}/pubsub/push`, { headers, body });
          expect([204, 400, 401, 403], response.body).to.include(response.status);
          if (handled > before) {
            expect(auth, "an unauthenticated push reached the fulfiller").to.equal("good");
            expect(() => parsePushEnvelope(JSON.parse(body))).not.to.throw();
            admitted += 1;
          }
        },
      ),
      {
        numRuns: FUZZ_RUNS,
        // One push that must get through, so "reached the fulfiller" never rests on chance.
        examples: [[JSON.stringify({ message: { messageId: "1", data: "e30=" } }), "good", []]],
      },
    );
    expect(admitted, "the fuzz reached the fulfiller").to.be.greaterThan(0);
  });
});
