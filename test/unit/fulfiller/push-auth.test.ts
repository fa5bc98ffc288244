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
    certs = await listen((_req: http.IncomingMessage, res: http.ServerResponse) => {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=60" });
      res.end(JSON.stringify({ [KID]: publicKey.export({ type: "spki", format: "pem" }) }));
    });
  });
  after(async () => certs.close());

  async function serve(mode: PushAuthMode) {
    const fulfiller = new CountingFulfiller();
    const server = await listen(
      createApp({
        fulfiller: fulfiller as unknown as Fulfiller,
        authenticate: createPushAuthenticator({
          mode,
          audience: AUDIENCE,
          serviceAccount: PUSH_SA,
          certsUrl: `${certs.url}/oauth2/v1/certs`,
        }),
        logger: new LogCapture("fulfiller").logger,
      }),
    );
    const post = async (authorization?: string) => {
      const response = await fetch(`${server.url}/pubsub/push`, {
        method: "POST",
        headers: authorization ? { authorization } : {},
        body: envelope,
      });
      return response.status;
    };
    return { fulfiller, server, post };
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
  });

  describe("when PUSH_AUTH=oidc (full verification with google-auth-library)", () => {
    it("then a token signed by Google's key is admitted, and every refusal is 401 or 403", async () => {
      const { fulfiller, server, post } = await serve("oidc");
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
