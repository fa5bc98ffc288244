import { expect } from "chai";
import { FulfillerHarness } from "../support/fulfiller-harness.js";
import { createCheckout } from "../support/checkout.js";
import { requireEmulators } from "../support/emulator-state.js";
import { TransientError } from "../../services/common/errors.js";
import type { MessagePublisher } from "../../services/common/pubsub.js";
import type { OrderStore } from "../../services/fulfiller/ports.js";
import type { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import { buildEvent } from "../../services/local/stripe/objects.js";

import { setTimeout as sleep } from "node:timers/promises";

/**
 * The real store, with `updateClaimed` calls (by 1-based call number) failing, starting
 * late (`delayStartMs`: the transaction runs then, as an SDK retry would), or answering
 * late after committing at once (`delayAnswerMs`), or other calls hanging.
 */
function faultyStore(
  real: FirestoreOrderStore,
  faults: {
    failUpdateCalls?: number[];
    slowUpdate?: { call: number; delayStartMs?: number; delayAnswerMs?: number };
    hangRecordEvent?: boolean;
  },
): OrderStore {
  let updates = 0;
  return {
    claim: (request) => real.claim(request),
    updateClaimed: async (sessionId, claimId, change, options) => {
      updates += 1;
      if (faults.failUpdateCalls?.includes(updates))
        throw new TransientError(`injected Firestore failure on update ${updates}`);
      const slow = faults.slowUpdate?.call === updates ? faults.slowUpdate : undefined;
      if (slow?.delayStartMs) await sleep(slow.delayStartMs);
      const written = await real.updateClaimed(sessionId, claimId, change, options);
      if (slow?.delayAnswerMs) await sleep(slow.delayAnswerMs);
      return written;
    },
    recordEvent: (eventId, eventType, outcome) =>
      faults.hangRecordEvent ? new Promise(() => {}) : real.recordEvent(eventId, eventType, outcome),
    get: (sessionId) => real.get(sessionId),
    list: (options) => real.list(options),
    findBy: (field, value, limit) => real.findBy(field, value, limit),
    redact: (sessionId, by) => real.redact(sessionId, by),
    transact: (sessionId, fn) => real.transact(sessionId, fn),
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - started };
}

describe("integration: the attempt deadline holds, and no order is stranded", function () {
  this.timeout(60_000);
  let h: FulfillerHarness | undefined;

  before(function () {
    requireEmulators(this);
  });
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  /** A fulfiller (3 s deadline) whose `sending` write, update 1, is slow as `slow` says, and a first delivery to push. */
  async function withSlowSendingWrite(
    leaseMs: number,
    slow: { delayStartMs?: number; delayAnswerMs?: number },
  ) {
    h = await new FulfillerHarness().start({
      settings: { deadlineMs: 3000, leaseMs },
      wrapStore: (real) => faultyStore(real, { slowUpdate: { call: 1, ...slow } }),
    });
    const c = createCheckout(h.stripe);
    return { sessionId: c.sessionId, envelope: h.envelope(c.event()) };
  }

  /** Pub/Sub's redelivery (every 100 ms, up to `tries`) sends the one email and fulfils the order. */
  async function expectRedeliveryFulfils(envelope: unknown, sessionId: string, tries = 1) {
    const statuses = await h!.pushUntilAcked(envelope, tries, 100);
    expect(statuses.at(-1)).to.equal(204);
    expect(h!.sendgrid.emailsFor(sessionId)).to.have.length(1);
    expect((await h!.store.get(sessionId))?.status).to.equal("fulfilled");
  }

  describe("when Stripe answers slower than the handler deadline (SDK retries and all)", () => {
    it("then the push is answered within the deadline plus a small margin, and the order is released", async () => {
      h = await new FulfillerHarness().start({ settings: { deadlineMs: 3000, leaseMs: 10_000 } });
      const c = createCheckout(h.stripe);
      // Every session read takes 8 s: stripe-node's own retries would each wait again.
      h.stripe.addFault({ match: "GET /v1/checkout/sessions/", delayMs: 8000, times: 10 });
      const { value: status, ms } = await timed(() => h!.push(h!.envelope(c.event())));
      console.log(`      answered ${status} after ${ms} ms (deadline 3000 ms, Stripe 8000 ms per read)`);
      expect(status).to.equal(503);
      expect(ms).to.be.lessThan(3000 + 700);
      expect(h.stripe.count("GET /v1/checkout/sessions/")).to.equal(1);
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("processing");
      expect(order?.claim_id).to.equal(null);
      expect(h.sendgrid.attempts).to.equal(0);
    });
  });

  describe("when the dead-letter publish hangs", () => {
    it("then the push is answered 503 within the deadline: nothing is acknowledged that is not dead-lettered", async () => {
      const hanging: MessagePublisher = {
        publish: () => new Promise(() => {}),
        close: () => Promise.resolve(),
      };
      h = await new FulfillerHarness().start({ settings: { deadlineMs: 1500 }, deadLetter: hanging });
      const { value: status, ms } = await timed(() => h!.push(h!.envelope(Buffer.from("not json"))));
      expect(status).to.equal(503);
      expect(ms).to.be.lessThan(1500 + 700);
    });
  });

  describe("when the ledger write for an ignored event hangs", () => {
    it("then the event is still acknowledged within the deadline", async () => {
      h = await new FulfillerHarness().start({
        settings: { deadlineMs: 1500 },
        wrapStore: (real) => faultyStore(real, { hangRecordEvent: true }),
      });
      const event = buildEvent({ type: "customer.created", object: { id: "cus_123", object: "customer" } });
      const { value: status, ms } = await timed(() => h!.push(h!.envelope(event)));
      expect(status).to.equal(204);
      expect(ms).to.be.lessThan(1500 + 700);
    });
  });

  describe("when the needs_review write fails after an unknown send outcome", () => {
    it("then the push is not acknowledged, and the redelivery records needs_review without sending again", async () => {
      h = await new FulfillerHarness().start({
        settings: { deadlineMs: 2500, leaseMs: 3000 },
        // update 1 records `sending`; 2 would record needs_review.
        wrapStore: (real) => faultyStore(real, { failUpdateCalls: [2] }),
      });
      const c = createCheckout(h.stripe);
      h.sendgrid.addFault({ match: "POST /v3/mail/send", acceptThenReset: true });
      const envelope = h.envelope(c.event());
      expect(await h.push(envelope)).to.equal(503);
      const stranded = await h.store.get(c.sessionId);
      expect(stranded?.email.state).to.equal("sending");
      expect(h.logs.find((l) => l.alert === "needs_review")).to.equal(undefined);

      // Pub/Sub redelivers; once the first attempt's lease is over, the order is settled.
      const statuses = await h.pushUntilAcked(envelope, 40, 200);
      expect(statuses.at(-1)).to.equal(204);
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("needs_review");
      expect(h.sendgrid.attempts).to.equal(1);
      expect(h.sendgrid.emailsFor(c.sessionId)).to.have.length(1);
    });
  });

  describe("when the `sending` write takes most of the deadline", () => {
    it("then the send gets only what is left: too little, so nothing is sent, the record is put back, and the redelivery fulfils", async () => {
      // Deadline 3 s, 1 s of it kept for recording; `sending` (update 1) answers after 1.8 s.
      const { sessionId, envelope } = await withSlowSendingWrite(4000, { delayAnswerMs: 1800 });
      // SendGrid takes 1.5 s: sent with the time planned before the write, it would be
      // accepted past the deadline, with no time left to record it (needs_review).
      h!.sendgrid.addFault({ match: "POST /v3/mail/send", delayMs: 1500, times: 5 });
      const { value: status, ms } = await timed(() => h!.push(envelope));
      expect(status).to.equal(503);
      expect(ms).to.be.lessThan(3000 + 700);
      expect(h!.sendgrid.attempts).to.equal(0);
      const released = await h!.store.get(sessionId);
      expect(released?.email.state).to.equal("none");
      expect(released?.claim_id).to.equal(null);
      expect(h!.logs.find((l) => String(l.message).includes("`sending` record is withdrawn"))).to.not.equal(
        undefined,
      );
      await expectRedeliveryFulfils(envelope, sessionId);
    });
  });

  describe("when the `sending` write commits but answers only after the attempt has given up", () => {
    it("then the late record is withdrawn and the claim released, so the redelivery sends (not needs_review)", async () => {
      const { sessionId, envelope } = await withSlowSendingWrite(4000, { delayAnswerMs: 3500 });
      const { value: status, ms } = await timed(() => h!.push(envelope));
      expect(status).to.equal(503);
      expect(ms).to.be.lessThan(3000 + 700);
      expect(h!.sendgrid.attempts).to.equal(0);
      // The commit's answer arrives about 0.5 s after the push was answered; what a
      // shutdown (SIGTERM) waits for includes it and the withdrawal.
      const drainStarted = Date.now();
      await h!.fulfiller.settled(5000);
      expect(Date.now() - drainStarted).to.be.lessThan(4000);
      const order = await h!.store.get(sessionId);
      expect(order?.claim_id, "withdrawn and released before settled() returned").to.equal(null);
      expect(order?.email.state).to.equal("none");
      expect(order?.history.at(-1)?.reason).to.include("landed after the attempt had given up");
      await expectRedeliveryFulfils(envelope, sessionId);
    });
  });

  describe("when the SDK tries the `sending` transaction again after the attempt's deadline", () => {
    it("then that try writes nothing, and once the lease is over the redelivery sends (not needs_review)", async () => {
      // A lease long enough that the claim check alone would still let the late try write.
      const { sessionId, envelope } = await withSlowSendingWrite(8000, { delayStartMs: 3300 });
      expect(await h!.push(envelope)).to.equal(503);
      await sleep(800); // the transaction has run by now
      expect((await h!.store.get(sessionId))?.email.state).to.equal("none");
      expect(h!.sendgrid.attempts).to.equal(0);
      await expectRedeliveryFulfils(envelope, sessionId, 80);
    });
  });

  describe("when recording the accepted email fails once", () => {
    it("then the message id is logged at once, the write is retried, and the order is fulfilled (not needs_review)", async () => {
      h = await new FulfillerHarness().start({
        // update 1 records `sending`; 2 is the first `sent` write.
        wrapStore: (real) => faultyStore(real, { failUpdateCalls: [2] }),
      });
      const c = createCheckout(h.stripe);
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const [email] = h.sendgrid.emailsFor(c.sessionId);
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("fulfilled");
      expect(order?.email.message_id).to.equal(email!.messageId);
      const accepted = h.logs.lines.findIndex(
        (l) => l.sendgrid_message_id === email!.messageId && String(l.message).includes("accepted"),
      );
      const retried = h.logs.lines.findIndex((l) => String(l.message).includes("retrying"));
      expect(accepted).to.be.greaterThan(-1);
      expect(retried).to.be.greaterThan(accepted);
    });

    it("then if every try fails, the order is needs_review with the message id in its reason", async () => {
      h = await new FulfillerHarness().start({
        wrapStore: (real) => faultyStore(real, { failUpdateCalls: [2, 3, 4] }),
      });
      const c = createCheckout(h.stripe);
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const [email] = h.sendgrid.emailsFor(c.sessionId);
      const order = await h.store.get(c.sessionId);
      expect(order?.status).to.equal("needs_review");
      expect(order?.reason).to.include(email!.messageId);
    });
  });

  describe("when the dead-letter reason is long and not ASCII", () => {
    it("then it is cut to Pub/Sub's 1,024-byte limit on a character boundary and the publish succeeds", async () => {
      h = await new FulfillerHarness().start();
      const c = createCheckout(h.stripe);
      // A Stripe 400 whose message is long and multi-byte becomes the dead-letter reason.
      h.stripe.addFault({ match: "GET /v1/checkout/sessions/", status: 400, message: "ü€".repeat(600) });
      expect(await h.push(h.envelope(c.event()))).to.equal(204);
      const [dead] = await h.pullDeadLetters(1);
      const reason = dead!.attributes.dead_letter_reason!;
      expect(Buffer.byteLength(reason, "utf8")).to.be.at.most(1024).and.above(1000);
      expect(reason).to.not.include("\uFFFD");
    });
  });
});
