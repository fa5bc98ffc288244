import { expect } from "chai";
import { createHash } from "node:crypto";
import { createApp } from "../../../services/receiver/app.js";
import { signDispatchToken } from "../../../services/common/dispatch-token.js";
import { FakePublisher } from "../../support/fake-publisher.js";
import { listen, type Listening } from "../../support/http.js";
import { LogCapture } from "../../support/log-capture.js";

const SECRET = "dispatch-secret-for-tests-0123456789";
const NOW = Date.UTC(2026, 11, 4, 12, 0, 0);
const SESSION = `cs_test_${"b7C8d9E0f1".repeat(6)}`;
const REF = SESSION.slice(-8);

describe("unit: the receiver's dispatch form (DESIGN 5b)", () => {
  let publisher: FakePublisher;
  let logs: LogCapture;
  let server: Listening;
  const token = (expires = new Date(NOW + 86_400_000), session = SESSION) =>
    signDispatchToken(SECRET, session, expires);

  async function start(secret: string | null = SECRET) {
    publisher = new FakePublisher();
    logs = new LogCapture("receiver");
    server = await listen(
      createApp({
        webhookSecrets: ["whsec_unit_test_secret_0123456789"],
        publisher,
        publishTimeoutMs: 500,
        logger: logs.logger,
        dispatchSecret: secret ?? undefined,
        now: () => NOW,
      }),
    );
  }
  beforeEach(() => start());
  afterEach(() => server.close());

  const get = (t: string) => fetch(`${server.url}/dispatch/${t}`);
  const post = (t: string, fields: Record<string, string>) =>
    fetch(`${server.url}/dispatch/${t}`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });

  it("when the link is valid, then a small form for that order is served under a strict CSP that admits only its own inline style", async () => {
    const response = await get(token());
    expect(response.status).to.equal(200);
    expect(response.headers.get("content-type")).to.equal("text/html; charset=utf-8");
    const csp = response.headers.get("content-security-policy")!;
    expect(csp).to.match(
      /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'$/,
    );
    expect(response.headers.get("cache-control")).to.equal("no-store");
    const html = await response.text();
    expect(html).to.include(`Order ${REF}: dispatched`);
    expect(html).to.include('<form method="post">').and.include('name="tracking_number"');
    expect(html).to.not.match(/<script|src=|href=/);
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    expect(csp).to.include(`'sha256-${createHash("sha256").update(style).digest("base64")}'`);
    expect(html).to.include('name="viewport"');
  });

  it("when the warehouse submits a carrier and number, then one dispatch.confirmed message is published and the page says recorded", async () => {
    const response = await post(token(), {
      carrier: "Royal Mail",
      tracking_number: "RM 1234 5678 GB",
      tracking_url: "https://www.royalmail.com/track-your-item#/tracking-results/RM12345678GB",
    });
    expect(response.status).to.equal(200);
    expect(await response.text()).to.include("Recorded: Royal Mail, tracking number RM 1234 5678 GB");
    expect(publisher.published).to.have.length(1);
    const [message] = publisher.published;
    expect(message!.attributes).to.deep.include({
      source: "warehouse",
      event_type: "dispatch.confirmed",
      object_id: SESSION,
      received_at: new Date(NOW).toISOString(),
    });
    const data = JSON.parse(message!.data.toString()) as Record<string, unknown>;
    expect(data).to.deep.include({
      type: "dispatch.confirmed",
      session_id: SESSION,
      carrier: "Royal Mail",
      tracking_number: "RM 1234 5678 GB",
      tracking_url: "https://www.royalmail.com/track-your-item#/tracking-results/RM12345678GB",
      confirmed_at: new Date(NOW).toISOString(),
    });
    expect(data.id).to.match(/^dsp_[0-9a-f]{32}$/);
    expect(message!.attributes.event_id).to.equal(data.id);
  });

  it("when a field is missing, too long, or of the wrong characters, then 400 with the form again, the problem named, and nothing published", async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ carrier: "", tracking_number: "RM12345678GB" }, /Carrier: 2 to 60/],
      [{ carrier: "DHL", tracking_number: "" }, /Tracking number: 4 to 60/],
      [{ carrier: "DHL", tracking_number: "x".repeat(61) }, /Tracking number: 4 to 60/],
      [{ carrier: "DHL", tracking_number: "12;DROP TABLE" }, /Tracking number: 4 to 60/],
      [
        { carrier: "DHL", tracking_number: "1234", tracking_url: "javascript:alert(1)" },
        /Tracking link: an https/,
      ],
      [
        { carrier: "DHL", tracking_number: "1234", tracking_url: "http://insecure.example" },
        /Tracking link: an https/,
      ],
    ];
    for (const [fields, problem] of cases) {
      const response = await post(token(), fields);
      expect(response.status, JSON.stringify(fields)).to.equal(400);
      const html = await response.text();
      expect(html).to.match(problem).and.include('<form method="post">');
    }
    expect(publisher.published).to.have.length(0);
  });

  it("when values carry markup, then every one is escaped on every page (the form again, the recorded page)", async () => {
    const hostile = '"><img src=x onerror=alert(1)>';
    const refused = await (
      await post(token(), { carrier: hostile, tracking_number: hostile, tracking_url: hostile })
    ).text();
    expect(refused).to.not.include("<img");
    expect(refused).to.include("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
    const recorded = await (
      await post(token(), { carrier: "O'Brien & Sons (Parcels)", tracking_number: "AB-1234" })
    ).text();
    expect(recorded).to.include("O&#39;Brien &amp; Sons (Parcels)");
  });

  it("when the link is tampered with, cut short or expired, then a 4xx page says which, and nothing is published", async () => {
    const good = token();
    const tampered = `${good.slice(0, -2)}${good.endsWith("AA") ? "BB" : "AA"}`;
    const bad = await get(tampered);
    expect(bad.status).to.equal(403);
    expect(await bad.text()).to.include("This dispatch link is not valid");
    expect((await get(good.slice(0, 30))).status).to.equal(403);
    const old = token(new Date(NOW - 1000));
    const expired = await get(old);
    expect(expired.status).to.equal(410);
    expect(await expired.text()).to.include("This dispatch link expired on 2026-12-04");
    for (const t of [tampered, old])
      expect((await post(t, { carrier: "DHL", tracking_number: "123456" })).status).to.be.within(400, 499);
    expect(publisher.published).to.have.length(0);
    expect(logs.lines.some((l) => l.reason === "bad_signature")).to.equal(true);
  });

  it("when Pub/Sub does not take the message, then 503 and a page that says to send again", async () => {
    publisher.failWith = new Error("pubsub down");
    const response = await post(token(), { carrier: "DHL", tracking_number: "123456" });
    expect(response.status).to.equal(503);
    expect(await response.text()).to.include("Send the form again in a minute");
  });

  it("when DISPATCH_LINK_SECRET is unset, then /dispatch/… answers 404", async () => {
    await server.close();
    await start(null);
    expect((await get(token())).status).to.equal(404);
    expect((await post(token(), { carrier: "DHL", tracking_number: "123456" })).status).to.equal(404);
  });
});
