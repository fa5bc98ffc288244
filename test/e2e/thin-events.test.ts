// Thin events (`v2.core.event`) through the whole local stack: the receiver, the
// emulator's push subscription, the fulfiller and the Stripe stand-in, driven as a
// person would with `send-test-event --thin`.
import { expect } from "chai";
import { Firestore } from "@google-cloud/firestore";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import { buildEvent, buildLineItems, buildSession, SCALE_LINE } from "../../services/local/stripe/objects.js";
import { thinTwinOf } from "../../services/local/stripe/thin-events.js";
import { postSignedEvent } from "../../services/cli/commands/send-test-event.js";
import { LOCAL } from "../../services/local/defaults.js";
import { requireEmulators } from "../support/emulator-state.js";
import { startTestStack } from "../support/stack.js";
import { waitFor, waitForQuiet } from "../support/wait.js";
import { runCli, type CliRun } from "../support/cli.js";

describe("e2e: thin events through the local stack", function () {
  this.timeout(120_000);
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  let db: Firestore;
  let store: FirestoreOrderStore;

  before(async function () {
    const env = requireEmulators(this);
    stack = await startTestStack("thin", env);
    db = new Firestore({ projectId: env.project });
    store = new FirestoreOrderStore(db);
  });
  after(async () => {
    await stack?.stop();
    await db?.terminate();
  });

  const cli = (args: string[]): Promise<CliRun> => runCli(args, stack.env);
  const target = () => ["--url", `${stack.receiverUrl}/webhooks/stripe`, "--stripe-admin", stack.stripe!.url];
  const quiet = () => waitForQuiet("the pipeline", () => [stack.lines.length, stack.sendgrid.attempts]);
  const ofKind = (id: string, kind: string) =>
    stack.sendgrid.emailsFor(id).filter((e) => e.customArgs.email_kind === kind);

  it("when `send-test-event --thin` posts a v1.checkout.session.completed, then one order email; `--thin --type refund` then one stop notice", async () => {
    const sent = await cli(["send-test-event", "--thin", "--json", ...target()]);
    expect(sent.code, sent.stderr).to.equal(0);
    const [row] = JSON.parse(sent.stdout) as { session_id: string; type: string; statuses: number[] }[];
    expect(row).to.include({ type: "v1.checkout.session.completed" });
    expect(row!.statuses).to.deep.equal([200]);
    const id = row!.session_id;
    await waitFor(`order ${id} fulfilled`, async () => (await store.get(id))?.status === "fulfilled");

    const refund = await cli(["send-test-event", "--thin", "--type", "refund", "--session", id, ...target()]);
    expect(refund.code, refund.stderr).to.equal(0);
    expect(refund.stdout).to.match(/v1\.charge\.refunded session=cs_test_\w+ -> 200/);
    await waitFor("the stop notice", async () => (await store.get(id))?.stop_notice?.state === "sent");
    await quiet();
    expect(ofKind(id, "order")).to.have.length(1);
    expect(ofKind(id, "stop_notice")).to.have.length(1);
    // Thin events re-read everything: the session and the charge were read from the stand-in.
    expect(stack.stripe!.count(`GET /v1/checkout/sessions/${id}`)).to.be.greaterThan(0);
  });

  it("when a thin dispute arrives, then the dispute is read for its charge and one stop notice goes", async () => {
    const sent = await cli(["send-test-event", "--thin", "--json", ...target()]);
    const id = (JSON.parse(sent.stdout) as { session_id: string }[])[0]!.session_id;
    await waitFor(`order ${id} fulfilled`, async () => (await store.get(id))?.status === "fulfilled");
    const before = stack.stripe!.count("GET /v1/disputes/");
    const dispute = await cli([
      "send-test-event",
      "--thin",
      "--type",
      "dispute",
      "--session",
      id,
      ...target(),
    ]);
    expect(dispute.code, dispute.stderr).to.equal(0);
    await waitFor("the stop notice", async () => (await store.get(id))?.stop_notice?.state === "sent");
    await quiet();
    expect((await store.get(id))?.after_sale).to.include({ kind: "disputed", notice: "sent" });
    expect(stack.stripe!.count("GET /v1/disputes/")).to.be.greaterThan(before);
    expect(ofKind(id, "stop_notice")).to.have.length(1);
  });

  it("when the same change arrives in both styles during a migration, in either order and repeated, then one email", async () => {
    const ids: string[] = [];
    for (const thinFirst of [false, true]) {
      const spec = { lines: [SCALE_LINE] };
      const session = buildSession(spec);
      const snapshot = buildEvent({ type: "checkout.session.completed", object: session });
      const thin = thinTwinOf(snapshot);
      expect(thin.snapshot_event).to.equal(snapshot.id);
      stack.stripe!.addCheckout({
        session,
        lineItems: buildLineItems(spec),
        event: snapshot,
        thinEvent: thin,
      });
      const order = thinFirst ? [thin, snapshot, thin, snapshot] : [snapshot, thin, snapshot, thin];
      const url = `${stack.receiverUrl}/webhooks/stripe`;
      const statuses = await Promise.all(
        order.map(async (e) => (await postSignedEvent(url, JSON.stringify(e), LOCAL.webhookSecret)).status),
      );
      expect(statuses).to.deep.equal([200, 200, 200, 200]);
      ids.push(session.id as string);
    }
    for (const id of ids)
      await waitFor(`order ${id} fulfilled`, async () => (await store.get(id))?.status === "fulfilled");
    await quiet();
    for (const id of ids) expect(stack.sendgrid.emailsFor(id), id).to.have.length(1);
  });

  it("when a thin-only destination lost events, then `reconcile` lists /v2/core/events and replays them in their own style", async () => {
    // Stripe recorded a paid checkout in both styles; neither reached the receiver.
    const spec = { lines: [SCALE_LINE] };
    const session = buildSession(spec);
    const snapshot = buildEvent({ type: "checkout.session.completed", object: session });
    const thin = thinTwinOf(snapshot);
    stack.stripe!.addCheckout({ session, lineItems: buildLineItems(spec), thinEvent: thin });
    const id = session.id as string;
    const dry = await cli(["reconcile", "--since", "10m", "--dry-run", "--json"]);
    expect(dry.code, dry.stderr).to.equal(0);
    const planned = JSON.parse(dry.stdout) as {
      republished: { event_id: string; session_id: string; why: string }[];
      warnings: string[];
    };
    expect(planned.warnings).to.deep.equal([]);
    expect(planned.republished.filter((r) => r.session_id === id)).to.deep.equal([
      { event_id: thin.id, session_id: id, object_id: id, why: "missing" },
    ]);
    expect(stack.stripe!.count("GET /v2/core/events")).to.be.greaterThan(0);
    const run = await cli(["reconcile", "--since", "10m"]);
    expect(run.code, run.stderr).to.equal(0);
    await waitFor(`order ${id} fulfilled`, async () => (await store.get(id))?.status === "fulfilled");
    await quiet();
    expect(stack.sendgrid.emailsFor(id)).to.have.length(1);
    const again = await cli(["reconcile", "--since", "10m", "--json"]);
    const second = (JSON.parse(again.stdout) as { republished: { session_id: string }[] }).republished;
    expect(second.map((r) => r.session_id)).to.not.include(id);
  });
});
