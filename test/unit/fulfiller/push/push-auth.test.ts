import http from "node:http";
import { expect } from "chai";
import { generateKeyPairSync, sign } from "node:crypto";
import { createApp } from "../../../../services/fulfiller/app.js";
import {
  createPushAuthenticator,
  type PushAuthMode,
  decodeForwardedClaims,
  PushAuthError,
  verifyFailureReason,
  type PushAuthHeaders,
} from "../../../../services/fulfiller/push/push-auth.js";
import { type Fulfiller } from "../../../../services/fulfiller/fulfil-order.js";
import { listen, type Listening } from "../../../support/http.js";
import { LogCapture } from "../../../support/log-capture.js";

const AUDIENCE = "https://fulfiller.example.run.app/pubsub/push";
const PUSH_SA = "pubsub-push@my-project.iam.gserviceaccount.com";
const KID = "test-key-1";
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const other = generateKeyPairSync("rsa", { modulusLength: 2048 });

function jwt(
  claims: Record<string, unknown>,
  options: { key?: typeof privateKey; kid?: string; stripSignature?: boolean } = {},
) {
  const header = Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT", kid: options.kid ?? KID })).toString(
    "base64url",
  );
  const payload = Buffer.from(JSON.stringify(claims)).toString("base64url");
  if (options.stripSignature) return `${header}.${payload}.SIGNATURE_REMOVED_BY_GOOGLE`;
  const signature = sign(
    "RSA-SHA256",
    Buffer.from(`${header}.${payload}`),
    options.key ?? privateKey,
  ).toString("base64url");
  return `${header}.${payload}.${signature}`;
}

const now = () => Math.floor(Date.now() / 1000);
const good = () => ({
  iss: "https://accounts.google.com",
  aud: AUDIENCE,
  email: PUSH_SA,
  email_verified: true,
  iat: now() - 10,
  exp: now() + 3600,
  sub: "1234567890",
});

/** Counts deliveries that got past authentication. */
class CountingFulfiller {
  calls = 0;
  handlePush() {
    this.calls += 1;
    return Promise.resolve({ ack: true, result: "ignored" as const });
  }
}

const envelope = JSON.stringify({
  message: { data: Buffer.from("{}").toString("base64"), messageId: "1", attributes: {} },
  subscription: "s",
});

describe("unit: push authentication", () => {
  let certs: Listening;
  before(async () => {
    // Google's v1 certs endpoint format: {kid: PEM}.
    // Answers only its own path, as Google's endpoint does: a wrong certs URL must fail.
    certs = await listen((req: http.IncomingMessage, res: http.ServerResponse) => {
      if (req.method !== "GET" || req.url !== "/oauth2/v1/certs") {
        res.writeHead(404, { "content-type": "text/html" });
        res.end("<!DOCTYPE html><title>Error 404 (Not Found)</title>");
        return;
      }
      res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=60" });
      res.end(JSON.stringify({ [KID]: publicKey.export({ type: "spki", format: "pem" }) }));
    });
  });
  after(async () => certs.close());

  async function serve(mode: PushAuthMode, certsPath = "/oauth2/v1/certs") {
    const fulfiller = new CountingFulfiller();
    const logs = new LogCapture("fulfiller");
    const server = await listen(
      createApp({
        fulfiller: fulfiller as unknown as Fulfiller,
        authenticate: createPushAuthenticator({
          mode,
          audience: AUDIENCE,
          serviceAccount: PUSH_SA,
          certsUrl: `${certs.url}${certsPath}`,
        }),
        logger: logs.logger,
      }),
    );
    const post = async (authorization?: string, serverless?: string) => {
      const response = await fetch(`${server.url}/pubsub/push`, {
        method: "POST",
        headers: {
          ...(authorization ? { authorization } : {}),
          ...(serverless !== undefined ? { "x-serverless-authorization": serverless } : {}),
        },
        body: envelope,
      });
      return response.status;
    };
    return { fulfiller, server, post, logs };
  }

  describe("when PUSH_AUTH=cloud-run (Cloud Run verified the token and removed its signature)", () => {
    it("then the forwarded claims are admitted, and every refusal is 401 or 403", async () => {
      const { fulfiller, server, post } = await serve("cloud-run");
      const forwarded = (claims: Record<string, unknown>) =>
        `Bearer ${jwt(claims, { stripSignature: true })}`;
      expect(await post(forwarded(good()))).to.equal(204);
      expect(await post()).to.equal(401);
      expect(await post("Basic dXNlcjpwYXNz")).to.equal(401);
      expect(await post("Bearer not-a-jwt")).to.equal(403);
      expect(await post(forwarded({ ...good(), aud: "https://elsewhere" }))).to.equal(403);
      expect(await post(forwarded({ ...good(), email: "attacker@example.com" }))).to.equal(403);
      expect(await post(forwarded({ ...good(), email_verified: false }))).to.equal(403);
      expect(await post(forwarded({ ...good(), exp: now() - 1 }))).to.equal(403);
      expect(fulfiller.calls).to.equal(1);
      await server.close();
    });

    it("then a token that still carries a signature (the invoker check is off) is refused with an ERROR naming the fix", async () => {
      const { fulfiller, server, post, logs } = await serve("cloud-run");
      // Even correctly signed by a real key: nothing in this mode verifies signatures.
      expect(await post(`Bearer ${jwt(good())}`)).to.equal(403);
      expect(await post(`Bearer ${jwt(good(), { key: other.privateKey })}`)).to.equal(403);
      expect(fulfiller.calls).to.equal(0);
      const errors = logs.lines.filter((l) => l.alert === "push_auth_misconfigured");
      expect(errors).to.have.length(2);
      expect(errors[0]!.severity).to.equal("ERROR");
      expect(String(errors[0]!.message)).to.include("PUSH_AUTH=oidc").and.include("invoker check");
      await server.close();
    });

    it("then an invoker's own token in X-Serverless-Authorization beside a hand-made push token is refused, and the refusal logs only a reason", async () => {
      const { fulfiller, server, post, logs } = await serve("cloud-run");
      const forged = `Bearer ${jwt(good(), { stripSignature: true })}`;
      const invoker = `Bearer ${jwt({ ...good(), email: "deployer@my-project.iam.gserviceaccount.com" }, { stripSignature: true })}`;
      expect(await post(forged, invoker)).to.equal(403);
      expect(fulfiller.calls).to.equal(0);
      // Pub/Sub's token forwarded in either header is admitted.
      expect(await post(forged)).to.equal(204);
      expect(await post(undefined, forged)).to.equal(204);
      expect(await post(`Bearer ${jwt({ ...good(), aud: "x" }, { stripSignature: true })}`, forged)).to.equal(
        204,
      );
      expect(fulfiller.calls).to.equal(3);
      const refused = logs.lines.filter((l) => l.outcome === "refused");
      expect(refused).to.have.length(1);
      expect(refused[0]!.reason).to.equal("token email is not the push service account");
      const logged = JSON.stringify(logs.lines);
      expect(logged).not.to.include("deployer@");
      expect(logged).not.to.include(invoker.split(".")[1]!);
      await server.close();
    });
  });

  describe("when PUSH_AUTH=oidc (full verification with google-auth-library)", () => {
    it("then a token signed by Google's key is admitted, and every refusal is 401 or 403", async () => {
      const { fulfiller, server, post, logs } = await serve("oidc");
      expect(await post(`Bearer ${jwt(good())}`)).to.equal(204);
      expect(await post()).to.equal(401);
      expect(await post(`Bearer ${jwt(good(), { stripSignature: true })}`)).to.equal(403);
      expect(await post(`Bearer ${jwt(good(), { key: other.privateKey })}`)).to.equal(403);
      expect(await post(`Bearer ${jwt(good(), { kid: "unknown-kid" })}`)).to.equal(403);
      expect(await post(`Bearer ${jwt({ ...good(), exp: now() - 600 })}`)).to.equal(403);
      expect(await post(`Bearer ${jwt({ ...good(), aud: "https://elsewhere" })}`)).to.equal(403);
      expect(await post(`Bearer ${jwt({ ...good(), iss: "https://evil.example" })}`)).to.equal(403);
      expect(await post(`Bearer ${jwt({ ...good(), email: "attacker@example.com" })}`)).to.equal(403);
      expect(await post(`Bearer ${jwt({ ...good(), email_verified: false })}`)).to.equal(403);
      expect(fulfiller.calls).to.equal(1);
      // The library's messages quote the claims; the log lines carry a fixed reason only.
      expect(
        await post(`Bearer ${jwt({ ...good(), email: "leak@example.com", exp: now() - 600 })}`),
      ).to.equal(403);
      const reasons = logs.lines.filter((l) => l.outcome === "refused").map((l) => l.reason);
      expect(reasons).to.include("token expired").and.include("token issuer is not Google");
      expect(JSON.stringify(logs.lines)).not.to.include("leak@example.com");
      expect(JSON.stringify(logs.lines)).not.to.include("https://evil.example");
      await server.close();
    });
  });

  describe("when PUSH_AUTH=oidc and the certificate URL is wrong", () => {
    it("then nothing verifies and every token is refused", async () => {
      const { fulfiller, server, post } = await serve("oidc", "/oauth2/v3/certs");
      expect(await post(`Bearer ${jwt(good())}`)).to.equal(403);
      expect(fulfiller.calls).to.equal(0);
      await server.close();
    });
  });

  describe("when PUSH_AUTH=none", () => {
    it("then requests pass without a token (local emulator only)", async () => {
      const { server, post } = await serve("none");
      expect(await post()).to.equal(204);
      await server.close();
    });
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
