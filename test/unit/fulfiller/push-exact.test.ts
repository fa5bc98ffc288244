import { expect } from "chai";
import { BadEnvelopeError, parsePushEnvelope } from "../../../services/fulfiller/push-envelope.js";
import {
  createPushAuthenticator,
  decodeForwardedClaims,
  PushAuthError,
  verifyFailureReason,
  type PushAuthHeaders,
} from "../../../services/fulfiller/push-auth.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("unit: push envelope, field by field", () => {
  function refusal(body: unknown): string {
    try {
      parsePushEnvelope(body);
    } catch (err) {
      expect(err).to.be.instanceOf(BadEnvelopeError);
      expect((err as BadEnvelopeError).status).to.equal(400);
      expect((err as BadEnvelopeError).code).to.equal("bad_envelope");
      return (err as Error).message;
    }
    return "accepted";
  }

  it("when the envelope is malformed, then 400 names what is wrong", () => {
    expect(refusal([])).to.equal("not a Pub/Sub push envelope: body is not a JSON object");
    expect(refusal({ message: "x" })).to.equal("not a Pub/Sub push envelope: no message object");
    expect(refusal({ message: { messageId: "" } })).to.equal(
      "not a Pub/Sub push envelope: message has no messageId",
    );
    expect(refusal({ message: { messageId: 7 } })).to.equal(
      "not a Pub/Sub push envelope: message has no messageId",
    );
    expect(refusal({ message: { messageId: "1", attributes: ["a"] } })).to.equal(
      "not a Pub/Sub push envelope: attributes is not an object",
    );
    expect(refusal({ message: { messageId: "1", attributes: null, data: b64("{}") } })).to.equal("accepted");
  });

  it("when fields are present or absent, then each is read or defaulted exactly", () => {
    const full = parsePushEnvelope({
      message: {
        messageId: "42",
        data: b64('{"a":1}'),
        attributes: { event_id: "evt_1", count: 3 },
        publishTime: "2026-11-27T12:00:00Z",
      },
      subscription: "projects/p/subscriptions/s",
      deliveryAttempt: 4,
    });
    expect(full).to.deep.equal({
      messageId: "42",
      publishTime: "2026-11-27T12:00:00Z",
      attributes: { event_id: "evt_1" }, // non-string attribute values are dropped
      data: Buffer.from('{"a":1}'),
      rawData: b64('{"a":1}'),
      subscription: "projects/p/subscriptions/s",
      deliveryAttempt: 4,
      dataProblem: null,
    });
    const bare = parsePushEnvelope({
      message: { message_id: "43", data: 5, publish_time: 9 },
      subscription: 1,
    });
    expect(bare).to.deep.equal({
      messageId: "43",
      publishTime: null,
      attributes: {},
      data: Buffer.alloc(0),
      rawData: "",
      subscription: null,
      deliveryAttempt: null,
      dataProblem: "message has no data",
    });
    expect(parsePushEnvelope({ message: { messageId: "1", data: "" } }).dataProblem).to.equal(
      "message has no data",
    );
    expect(parsePushEnvelope({ message: { messageId: "1", data: "not base64!" } }).dataProblem).to.equal(
      "message data is not base64",
    );
    // Padding of one or two '=' is base64; three is not. Line breaks inside are tolerated.
    expect(parsePushEnvelope({ message: { messageId: "1", data: "YQ==" } }).data.toString()).to.equal("a");
    expect(parsePushEnvelope({ message: { messageId: "1", data: "YWI=" } }).data.toString()).to.equal("ab");
    expect(parsePushEnvelope({ message: { messageId: "1", data: "YQ===" } }).dataProblem).to.equal(
      "message data is not base64",
    );
    expect(parsePushEnvelope({ message: { messageId: "1", data: "YW\nJj" } }).data.toString()).to.equal(
      "abc",
    );
    expect(
      parsePushEnvelope({ message: { messageId: "1", data: "YQ==" }, delivery_attempt: 2 }).deliveryAttempt,
    ).to.equal(2);
  });
});

describe("unit: push authentication, refusal by refusal", () => {
  const AUD = "https://fulfiller.example/pubsub/push";
  const SA = "push@p.iam.gserviceaccount.com";
  const NOW = Date.UTC(2026, 10, 27, 12);
  const token = (claims: unknown, signature = "SIGNATURE_REMOVED_BY_GOOGLE") =>
    `${b64url({ alg: "RS256" })}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
  function b64url(v: unknown) {
    return Buffer.from(JSON.stringify(v)).toString("base64url");
  }
  const good = { aud: AUD, email: SA, email_verified: true, exp: NOW / 1000 + 60 };
  const auth = createPushAuthenticator({
    mode: "cloud-run",
    audience: AUD,
    serviceAccount: SA,
    clock: () => NOW,
  });
  async function refusal(header: string | undefined): Promise<string> {
    try {
      await auth({ authorization: header });
      return "admitted";
    } catch (err) {
      expect(err).to.be.instanceOf(PushAuthError);
      const e = err as PushAuthError;
      expect(e.code).to.equal(e.status === 401 ? "unauthenticated" : "forbidden");
      expect(e.message).to.equal(
        e.status === 401 ? "a bearer token is required" : "the push token is not accepted",
      );
      return `${e.status} ${e.reason}`;
    }
  }

  it("when the header or token is malformed, then 401 or 403 with the reason", async () => {
    expect(await refusal(undefined)).to.equal("401 no Authorization header");
    expect(await refusal("")).to.equal("401 no Authorization header");
    expect(await refusal("Basic abc")).to.equal("401 Authorization is not a bearer token");
    expect(await refusal("xBearer abc")).to.equal("401 Authorization is not a bearer token");
    expect(await refusal("Bearer")).to.equal("401 Authorization is not a bearer token");
    expect(await refusal("Bearer a b")).to.equal("401 Authorization is not a bearer token");
    expect(await refusal("Bearer abc")).to.equal("403 token is not a JWT");
    expect(await refusal("Bearer a..c")).to.equal("403 token is not a JWT");
    expect(await refusal("Bearer a.b.c.d")).to.equal("403 token is not a JWT");
    expect(await refusal(`Bearer a.${Buffer.from("not json").toString("base64url")}.c`)).to.equal(
      "403 token claims are not JSON",
    );
    expect(await refusal(`Bearer a.${Buffer.from("null").toString("base64url")}.c`)).to.equal(
      "403 token claims are not JSON",
    );
    expect(await refusal(`Bearer a.${Buffer.from("7").toString("base64url")}.c`)).to.equal(
      "403 token claims are not JSON",
    );
  });

  it("when the forwarded claims are wrong, then 403 with the reason; a well-formed header with spacing is admitted", async () => {
    expect(await refusal(`Bearer   ${token(good)}  `)).to.equal("admitted");
    expect(await refusal(`bearer ${token(good)}`)).to.equal("admitted");
    expect(await refusal(`Bearer ${token(good, "c2lnbmF0dXJl")}`)).to.equal(
      "403 token signature was not removed by Cloud Run",
    );
    expect(await refusal(`Bearer ${token({ ...good, aud: "other" })}`)).to.equal(
      "403 token audience does not match PUSH_AUDIENCE",
    );
    expect(await refusal(`Bearer ${token({ ...good, aud: ["other", AUD] })}`)).to.equal("admitted");
    expect(await refusal(`Bearer ${token({ ...good, email: "x@y.z" })}`)).to.equal(
      "403 token email is not the push service account",
    );
    expect(await refusal(`Bearer ${token({ ...good, email_verified: "true" })}`)).to.equal(
      "403 token email is not verified",
    );
    expect(await refusal(`Bearer ${token({ ...good, exp: NOW / 1000 })}`)).to.equal("403 token expired");
    expect(await refusal(`Bearer ${token({ ...good, exp: NOW / 1000 + 0.001 })}`)).to.equal("admitted");
    expect(await refusal(`Bearer ${token({ ...good, exp: String(NOW / 1000 + 60) })}`)).to.equal(
      "403 token expired",
    );
  });

  it("when PUSH_AUTH=oidc cannot verify a token, then 403 with a fixed reason that quotes no part of the token", async () => {
    // A certificate URL nobody answers: verification fails, and says why.
    const oidc = createPushAuthenticator({
      mode: "oidc",
      audience: AUD,
      serviceAccount: SA,
      certsUrl: "http://127.0.0.1:9/oauth2/v1/certs",
    });
    const err = await oidc({ authorization: `Bearer ${token(good, "c2ln")}` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(PushAuthError);
    expect((err as PushAuthError).status).to.equal(403);
    expect((err as PushAuthError).reason).to.equal("token does not verify");
  });

  it("when google-auth-library's messages quote the token or its claims, then the reason is a fixed phrase without them", () => {
    const claims = JSON.stringify({ ...good, email: "someone@example.com" });
    const jwt = token(good, "c2ln");
    const messages: [string, string][] = [
      [`Wrong number of segments in token: ${jwt}`, "token is not a JWT"],
      [`Can't parse token payload: ${jwt.split(".")[1]}`, "token is not a JWT"],
      [
        `No pem found for envelope: {"alg":"RS256","kid":"k"}`,
        "token is signed by a key Google does not list",
      ],
      [`Invalid token signature: ${jwt}`, "token signature does not verify"],
      [`No issue time in token: ${claims}`, "token has no valid iat or exp"],
      [`Expiration time too far in future: ${claims}`, "token expiry is too far in the future"],
      [`Token used too early, 1 > 2: ${claims}`, "token is not valid yet"],
      [`Token used too late, 2 > 1: ${claims}`, "token expired"],
      [`Invalid issuer, expected one of [a], but got evil: ${claims}`, "token issuer is not Google"],
      [
        "Wrong recipient, payload audience != requiredAudience",
        "token audience does not match PUSH_AUDIENCE",
      ],
      ["request to http://127.0.0.1:9/certs failed, reason: connect ECONNREFUSED", "token does not verify"],
    ];
    for (const [message, reason] of messages)
      expect(verifyFailureReason(new Error(message)), message).to.equal(reason);
    expect(verifyFailureReason("not an error")).to.equal("token does not verify");
  });

  it("when X-Serverless-Authorization is present, then the claims come from it alone and never from Authorization", async () => {
    const admitted = async (headers: PushAuthHeaders) =>
      auth(headers).then(
        () => "admitted",
        (e: unknown) => `${(e as PushAuthError).status} ${(e as PushAuthError).reason}`,
      );
    const forged = token(good); // a hand-made token with the push account's claims
    const invoker = token({
      aud: AUD,
      email: "attacker@p.iam.gserviceaccount.com",
      email_verified: true,
      exp: NOW / 1000 + 60,
    });
    // The attacker's pair: their own real token where Cloud Run looks, a forged one beside it.
    expect(
      await admitted({ serverlessAuthorization: `Bearer ${invoker}`, authorization: `Bearer ${forged}` }),
    ).to.equal("403 token email is not the push service account");
    // Pub/Sub's forwarded token alone, in either header.
    expect(await admitted({ authorization: `Bearer ${forged}` })).to.equal("admitted");
    expect(await admitted({ serverlessAuthorization: `Bearer ${forged}` })).to.equal("admitted");
    // Both headers carry the right claims: still only the verified header is read, so a
    // bad Authorization beside it changes nothing, and a bad verified header is refused.
    expect(
      await admitted({ serverlessAuthorization: `Bearer ${forged}`, authorization: `Bearer ${forged}` }),
    ).to.equal("admitted");
    expect(
      await admitted({ serverlessAuthorization: `Bearer ${forged}`, authorization: "Basic junk" }),
    ).to.equal("admitted");
    expect(
      await admitted({
        serverlessAuthorization: `Bearer ${token({ ...good, aud: "other" })}`,
        authorization: `Bearer ${forged}`,
      }),
    ).to.equal("403 token audience does not match PUSH_AUDIENCE");
    // Present but empty is refused, not a fall-back to Authorization.
    expect(await admitted({ serverlessAuthorization: "", authorization: `Bearer ${forged}` })).to.equal(
      "401 no X-Serverless-Authorization header",
    );
  });

  it("when the claims decode, then decodeForwardedClaims returns them as sent", () => {
    expect(decodeForwardedClaims(token(good))).to.deep.equal(good);
  });

  it("when a checking mode lacks its audience or service account, then it refuses to start", () => {
    for (const mode of ["cloud-run", "oidc"] as const) {
      expect(() => createPushAuthenticator({ mode, audience: AUD })).to.throw(
        `PUSH_AUTH=${mode} needs PUSH_AUDIENCE and PUSH_SERVICE_ACCOUNT`,
      );
      expect(() => createPushAuthenticator({ mode, serviceAccount: SA })).to.throw("needs PUSH_AUDIENCE");
    }
    expect(() => createPushAuthenticator({ mode: "none" })).to.not.throw();
  });
});
