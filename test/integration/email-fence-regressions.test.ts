/**
 * Issue 25's ways to ship twice, each reproduced against the real fulfiller on the
 * emulators: every case here failed on the code before its fix. (The SendGrid 5xx case
 * lives with the other SendGrid failures in fulfiller.test.ts, the bounced stop notice
 * with the delivery events in delivery-events.test.ts.)
 */
import { expect } from "chai";
import { FulfillerHarness } from "../support/fulfiller-harness.js";
import { createCheckout } from "../support/checkout.js";
import { requireEmulators } from "../support/emulator-state.js";
import { OperatorRefusedError } from "../../services/fulfiller/operator-actions.js";
import type { AfterSale } from "../../services/fulfiller/order-state.js";

describe("integration: regressions of the email fence (issue 25)", function () {
  this.timeout(60_000);
  let h: FulfillerHarness;
  before(function () {
    requireEmulators(this);
  });
  beforeEach(async () => {
    h = await new FulfillerHarness().start();
  });
  afterEach(async () => h?.stop());

  async function refundedAfterEmail(stopNotice: Record<string, unknown>) {
    const c = createCheckout(h.stripe);
    expect(await h.push(h.envelope(c.event()))).to.equal(204);
    const now = new Date();
    const sale: AfterSale = {
      kind: "refunded",
      at: now,
      event_id: "evt_refund_1",
      charge_id: "ch_1",
      payment_intent_id: "pi_1",
      currency: "gbp",
      amount: 12000,
      amount_refunded: 12000,
      notice: "owed",
    };
    await h.store.transact(c.sessionId, (o) => ({
      next: o ? { ...o, after_sale: sale, stop_notice: { state: "none", ...stopNotice } } : undefined,
      result: undefined,
    }));
    return c.sessionId;
  }
  const notices = (sessionId: string) =>
    h.sendgrid.emailsFor(sessionId).filter((e) => e.subject.startsWith("STOP SHIPMENT"));
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (err: unknown) => err,
    );

  it("defect 7: when an automatic attempt holds the stop notice's claim, then the operator's owed notice is refused and nothing is sent", async () => {
    const sessionId = await refundedAfterEmail({
      claim_id: "automatic-claim",
      lease_expires_at: new Date(Date.now() + 60_000),
    });
    const err = await refusal(h.fulfiller.operator.sendOwedNotice(sessionId, h.logs.logger));
    expect(err).to.be.instanceOf(OperatorRefusedError);
    expect((err as Error).message).to.include("being sent by another attempt");
    expect(notices(sessionId)).to.have.length(0);
    const order = await h.store.get(sessionId);
    expect(order?.stop_notice?.claim_id).to.equal("automatic-claim"); // not taken over
  });

  it("defect 7: when a stop notice was left sending (outcome unknown), then the operator's owed notice is refused: it may have gone out", async () => {
    const sessionId = await refundedAfterEmail({ state: "sending", claim_id: null, lease_expires_at: null });
    const err = await refusal(h.fulfiller.operator.sendOwedNotice(sessionId, h.logs.logger));
    expect(err).to.be.instanceOf(OperatorRefusedError);
    expect((err as Error).message).to.include("may already have gone out");
    expect(notices(sessionId)).to.have.length(0);
  });

  it("when the owed notice is free (no claim, nothing in flight), then the operator sends exactly one", async () => {
    const sessionId = await refundedAfterEmail({ claim_id: null, lease_expires_at: null });
    const outcome = await h.fulfiller.operator.sendOwedNotice(sessionId, h.logs.logger);
    expect(outcome?.result).to.equal("stop_notice_sent");
    expect(notices(sessionId)).to.have.length(1);
    expect(await h.fulfiller.operator.sendOwedNotice(sessionId, h.logs.logger)).to.equal(null);
    expect(notices(sessionId)).to.have.length(1);
  });
});
