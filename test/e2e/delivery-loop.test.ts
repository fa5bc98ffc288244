import { expect } from "chai";
import { Firestore } from "@google-cloud/firestore";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import { requireEmulators } from "../support/emulator-state.js";
import { startTestStack } from "../support/stack.js";
import { runCli } from "../support/cli.js";
import { waitFor } from "../support/wait.js";

describe("e2e: the delivery loop on the local stack (signed SendGrid events back to the receiver)", function () {
  this.timeout(120_000);
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  let db: Firestore;
  let store: FirestoreOrderStore;

  before(async function () {
    const env = requireEmulators(this);
    // A warehouse address the capture server bounces, as SendGrid would for a bad mailbox.
    stack = await startTestStack("delivery", env, {
      env: { FULFILMENT_EMAIL_TO: "warehouse+bounce@localhost.test" },
    });
    db = new Firestore({ projectId: env.project });
    store = new FirestoreOrderStore(db);
  });
  after(async () => {
    await stack?.stop();
    await db?.terminate();
  });

  const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { ...stack.env, ...env });

  it("when the order email bounces, then the receiver verifies the signed events, the order shows undelivered, and one resend goes out", async () => {
    const [sent] = await stack.sendOrders();
    const id = sent!.session_id;
    // Two batches (processed, then bounce) that Pub/Sub may push in either order, and
    // the fulfiller's own record of the send: SendGrid's events can be recorded before
    // it (they race the fulfiller's last write), so wait for all three. The condition
    // also proves the fulfiller's write kept the delivery record it found.
    await waitFor(
      "both delivery events and the sent email to be recorded",
      async () => {
        const order = await store.get(id);
        const delivery = order?.email.delivery;
        return order?.status === "fulfilled" && delivery?.state === "bounce" && delivery.events === 2;
      },
      30_000,
    );
    expect(stack.sendgrid.eventPosts.map((p) => p.status)).to.deep.equal([200, 200]);
    const order = await store.get(id);
    expect(order?.email.state).to.equal("sent");
    expect(order?.email.delivery?.history.map((h) => h.state)).to.have.members(["processed", "bounce"]);
    expect(stack.lines.some((l) => l.includes('"alert":"email_undelivered"'))).to.equal(true);

    const listed = await cli(["orders", "list", "--undelivered", "--json"]);
    expect(listed.code, listed.stderr).to.equal(0);
    const rows = JSON.parse(listed.stdout) as { session_id: string; delivery: string }[];
    expect(rows.find((r) => r.session_id === id)).to.deep.include({ delivery: "bounce" });

    const shown = await cli(["orders", "show", id]);
    expect(shown.stdout).to.include('"delivery"').and.include('"bounce"');

    // The address is fixed: the resend goes to a good mailbox, and is delivered.
    const resend = await cli(["orders", "resend", id, "--undelivered"], {
      FULFILMENT_EMAIL_TO: "warehouse@localhost.test",
    });
    expect(resend.code, resend.stderr).to.equal(0);
    expect(resend.stdout).to.include("email resent");
    expect(stack.sendgrid.emailsFor(id)).to.have.length(2);
    await waitFor(
      "the resend to be delivered",
      async () => (await store.get(id))?.email.delivery?.state === "delivered",
      30_000,
    );
    const again = await cli(["orders", "resend", id, "--undelivered"]);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.include("only a bounce or a drop is resent");
    expect(stack.sendgrid.emailsFor(id)).to.have.length(2);
    const usage = await cli(["orders", "resend", id]);
    expect(usage.code).to.equal(2);
  });
});
