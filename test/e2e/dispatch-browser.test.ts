// The warehouse's side, as a person does it (DESIGN 5b): the order email lands in
// .outbox/, its dispatch link is opened in a real headless Chromium, the form is filled
// in and sent, and the order (and the order's PaymentIntent in the Stripe stand-in)
// change, through the receiver, the emulator's push subscription and the fulfiller.
import { expect } from "chai";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Firestore } from "@google-cloud/firestore";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import { requireEmulators } from "../support/emulator-state.js";
import { startTestStack } from "../support/stack.js";
import { waitFor } from "../support/wait.js";
import { findChromium, HeadlessBrowser } from "../support/headless-browser.js";
import { runCli } from "../support/cli.js";

describe("e2e: the dispatch link in a real browser (headless Chromium)", function () {
  this.timeout(120_000);
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  let db: Firestore;
  let store: FirestoreOrderStore;
  let browser: HeadlessBrowser | undefined;
  let outbox: string;

  before(async function () {
    const env = requireEmulators(this);
    const chromium = findChromium();
    if (!chromium) {
      console.error(
        "\n  !!! chromium is not installed: the browser test is PENDING, not passed (.ci/run installs it: apt-get install chromium)\n",
      );
      this.skip();
    }
    outbox = await mkdtemp(path.join(tmpdir(), "outbox-"));
    stack = await startTestStack("browser", env, { outboxDir: outbox });
    db = new Firestore({ projectId: env.project });
    store = new FirestoreOrderStore(db);
    browser = await new HeadlessBrowser(chromium).start();
  });
  after(async () => {
    await browser?.stop();
    await stack?.stop();
    await db?.terminate();
    if (outbox) await rm(outbox, { recursive: true, force: true });
  });

  it("when the link in the .outbox email is opened, filled in and sent, then the order shows the carrier and number, and Stripe has them", async () => {
    const [sent] = await stack.sendOrders();
    const id = sent!.session_id;
    await waitFor(`order ${id} fulfilled`, async () => (await store.get(id))?.status === "fulfilled");
    // The email as the local stack writes it for a person to open.
    const file = await waitFor("the .outbox email", async () =>
      (await readdir(outbox)).find((f) => f.includes(id.slice(-8)) && !f.includes("stop")),
    );
    const eml = await readFile(path.join(outbox, file), "utf8");
    const link = /http:\/\/127\.0\.0\.1:\d+\/dispatch\/[A-Za-z0-9_.-]+/.exec(eml)?.[0];
    expect(link, "a dispatch link in the email").to.be.a("string");

    await browser!.goto(link!);
    await browser!.waitFor("the form", "!!document.querySelector('form input[name=tracking_number]')");
    expect(await browser!.evaluate<string>("document.querySelector('h1').textContent")).to.include(
      id.slice(-8),
    );
    // What the CSP allows: nothing loaded from outside, no script ran.
    expect(await browser!.evaluate<number>("performance.getEntriesByType('resource').length")).to.equal(0);
    if (process.env.UPDATE_SCREENSHOTS)
      await writeFile("docs/dispatch-page.png", await browser!.screenshot());

    // A first try with a bad number: the browser's own check lets it through only if the
    // server's agrees, so send it past the browser's pattern-free form and read the answer.
    await browser!.evaluate(`(() => {
      document.querySelector('#carrier').value = 'Royal Mail';
      document.querySelector('#tracking_number').value = '12';
      document.querySelector('form').requestSubmit();
    })()`);
    await browser!.waitFor("the refusal", "document.body.innerText.includes('Tracking number: 4 to 60')");
    expect(await browser!.evaluate<string>("document.querySelector('#carrier').value")).to.equal(
      "Royal Mail",
    );

    await browser!.evaluate(`(() => {
      document.querySelector('#tracking_number').value = 'RM 1234 5678 GB';
      document.querySelector('#tracking_url').value = 'https://www.royalmail.com/track-your-item';
      document.querySelector('form').requestSubmit();
    })()`);
    await browser!.waitFor("the recorded page", "document.body.innerText.includes('Recorded: Royal Mail')");

    const dispatched = await waitFor(
      "the dispatch on the order",
      async () => (await store.get(id))?.dispatch?.stripe ?? undefined,
      20_000,
    );
    const order = (await store.get(id))!;
    expect(order.dispatch).to.deep.include({
      carrier: "Royal Mail",
      tracking_number: "RM 1234 5678 GB",
      tracking_url: "https://www.royalmail.com/track-your-item",
    });
    expect(dispatched.tracking_number).to.equal("RM 1234 5678 GB");
    const intent = stack.stripe!.paymentIntents.get(order.payment_intent_id!)!;
    expect(intent.shipping).to.deep.include({ carrier: "Royal Mail", tracking_number: "RM 1234 5678 GB" });

    // The operator's view: this order is no longer undispatched; one emailed without a dispatch is.
    const [other] = await stack.sendOrders();
    await waitFor(
      "the other order fulfilled",
      async () => (await store.get(other!.session_id))?.status === "fulfilled",
    );
    const listed = await runCli(
      ["orders", "list", "--undispatched", "--older-than", "0s", "--json"],
      stack.env,
    );
    expect(listed.code, listed.stderr).to.equal(0);
    const ids = (JSON.parse(listed.stdout) as { session_id: string; emailed: string }[]).map(
      (r) => r.session_id,
    );
    expect(ids).to.include(other!.session_id).and.not.include(id);
    const shown = await runCli(["orders", "list", "--json"], stack.env);
    const row = (JSON.parse(shown.stdout) as { session_id: string; dispatch: string | null }[]).find(
      (r) => r.session_id === id,
    );
    expect(row?.dispatch).to.equal("Royal Mail RM 1234 5678 GB");

    // The page again from the same link, and a tampered one.
    await browser!.goto(`${link!.slice(0, -3)}xyz`);
    expect(await browser!.evaluate<string>("document.body.innerText")).to.include(
      "This dispatch link is not valid",
    );
  });
});
