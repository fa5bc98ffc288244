// `orders redact` and `orders migrate-pii` as an operator runs them against the local stack
// (DESIGN 5c): what they print, --json, --dry-run, --email, and that a resent event after
// the erasure sends nothing.
import { expect } from "chai";
import { Firestore } from "@google-cloud/firestore";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import { requireEmulators } from "../support/emulator-state.js";
import { startTestStack } from "../support/stack.js";
import { waitFor, waitForQuiet } from "../support/wait.js";
import { runCli, type CliRun } from "../support/cli.js";
import { postSignedEvent } from "../../services/cli/commands/send-test-event.js";
import { LOCAL } from "../../services/local/defaults.js";

describe("e2e: erasure from the operator CLI (orders redact, migrate-pii)", function () {
  this.timeout(120_000);
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  let db: Firestore;
  let store: FirestoreOrderStore;

  before(async function () {
    const env = requireEmulators(this);
    stack = await startTestStack("redact", env);
    db = new Firestore({ projectId: env.project });
    store = new FirestoreOrderStore(db);
  });
  after(async () => {
    await stack?.stop();
    await db?.terminate();
  });

  const cli = (args: string[]): Promise<CliRun> => runCli(args, stack.env);

  it("when an order is redacted by id (dry run first) or by email, then it prints what it erased, and a redelivery sends nothing", async () => {
    const [sent] = await stack.sendOrders();
    const id = sent!.session_id;
    await waitFor(`order ${id} fulfilled`, async () => (await store.get(id))?.status === "fulfilled");
    const email = (await store.get(id))!.details!.customer.email!;

    const dry = await cli(["orders", "redact", id, "--dry-run", "--json"]);
    expect(dry.code, dry.stderr).to.equal(0);
    const [planned] = JSON.parse(dry.stdout) as { erased: string[]; redacted_at: string | null }[];
    expect(planned!.erased).to.include.members(["name", "email", "shipping address"]);
    expect(planned!.redacted_at).to.equal(null);
    expect((await store.get(id))!.details!.customer.email).to.equal(email);

    const byEmail = await cli(["orders", "redact", "--email", email.toUpperCase(), "--by", "ticket 4711"]);
    expect(byEmail.code, byEmail.stderr).to.equal(0);
    expect(byEmail.stdout).to.include(`erased ${id}: name, email`);
    const o = (await store.get(id))!;
    expect(o).to.deep.include({ pii: "redacted", redacted_by: "ticket 4711", status: "fulfilled" });
    expect(o.details!.customer.email).to.equal(null);

    const again = await cli(["orders", "redact", id]);
    expect(again.stdout).to.include(`erased ${id}: nothing (already redacted)`);
    const missing = await cli(["orders", "redact", "cs_test_nope"]);
    expect(missing.code).to.equal(1);
    const neither = await cli(["orders", "redact"]);
    expect(neither.code).to.equal(2);
    expect(neither.stderr).to.include("give a session id, or --email ADDRESS");

    // Stripe retries the event after the erasure: a duplicate, nothing sent.
    const before = stack.sendgrid.attempts;
    expect(
      (await postSignedEvent(`${stack.receiverUrl}/webhooks/stripe`, sent!.payload!, LOCAL.webhookSecret))
        .status,
    ).to.equal(200);
    await waitForQuiet("the pipeline", () => [stack.lines.length, stack.sendgrid.attempts]);
    expect(stack.sendgrid.attempts).to.equal(before);
  });

  it("when migrate-pii runs, then it reports what it read and moved, and a second run moves nothing", async () => {
    const first = await cli(["orders", "migrate-pii"]);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.match(/^moved the details of 0 of \d+ order\(s\)$/m);
    expect(first.stderr).to.match(/migrate-pii: \d+ order\(s\) read, 0 moved/);
    const dry = await cli(["orders", "migrate-pii", "--dry-run"]);
    expect(dry.stdout).to.match(/^would move the details of 0 of \d+ order\(s\)$/m);
  });
});
