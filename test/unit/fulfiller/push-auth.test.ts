import { expect } from "chai";
import { generateKeyPairSync, sign } from "node:crypto";
import http from "node:http";
import { createApp } from "../../../services/fulfiller/app.js";
import { createPushAuthenticator, type PushAuthMode } from "../../../services/fulfiller/push-auth.js";
import type { Fulfiller } from "../../../services/fulfiller/fulfil-order.js";
import { listen, type Listening } from "../../support/http.js";
import { LogCapture } from "../../support/log-capture.js";

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
