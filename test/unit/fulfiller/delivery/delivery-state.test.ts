import { expect } from "chai";
import {
  applyDeliveryEvents,
  isUndelivered,
  messageIdOf,
  ofEmail,
  parseDeliveryEvents,
  type DeliveryEvent,
} from "../../../../services/fulfiller/delivery/delivery-state.js";
import { buildSendGridEvent } from "../../../../services/local/sendgrid-events.js";

const MSG = "msgABC123";
const at = (s: number) => new Date(Date.UTC(2026, 10, 27, 12, 0, s));
const ev = (
  state: DeliveryEvent["state"],
  second: number,
  id = `sg_${state}_${second}`,
  message = MSG,
): DeliveryEvent => ({
  orderId: "cs_1",
  kind: "order",
  state,
  at: at(second),
  reason: null,
  sgEventId: id,
  sgMessageId: `${message}.filterdrecv-1`,
  attemptId: null,
});

describe("unit: delivery state from SendGrid's events", () => {
  it("when events arrive in order, then the record follows them and keeps a history", () => {
    const { next, became } = applyDeliveryEvents(null, [ev("processed", 1), ev("delivered", 2)], {
      message_id: MSG,
    });
    expect(next).to.include({ state: "delivered", events: 2 });
    expect(next!.at).to.deep.equal(at(2));
    expect(next!.history.map((h) => h.state)).to.deep.equal(["processed", "delivered"]);
    expect(became).to.equal("delivered");
  });

  it("when a batch is retried, then each sg_event_id counts once and nothing changes", () => {
    const first = applyDeliveryEvents(null, [ev("processed", 1), ev("delivered", 2)], {
      message_id: MSG,
    }).next;
    const again = applyDeliveryEvents(first, [ev("processed", 1), ev("delivered", 2)], { message_id: MSG });
    expect(again.next).to.deep.equal(first);
    expect(again.became).to.equal(null);
  });

  it("when a late deferred or processed arrives after delivered, then delivered stays", () => {
    const delivered = applyDeliveryEvents(null, [ev("delivered", 5)], { message_id: MSG }).next;
    const late = applyDeliveryEvents(delivered, [ev("deferred", 9), ev("processed", 10)], {
      message_id: MSG,
    });
    expect(late.next!.state).to.equal("delivered");
    expect(late.next!.events).to.equal(3);
    expect(late.became).to.equal(null);
  });

  it("when batches come out of order, then the stronger state wins whatever the arrival order", () => {
    const bounceFirst = applyDeliveryEvents(null, [ev("bounce", 5)], { message_id: MSG }).next;
    const thenProcessed = applyDeliveryEvents(bounceFirst, [ev("processed", 1)], { message_id: MSG });
    expect(thenProcessed.next!.state).to.equal("bounce");
    // Within one batch, the order of the array does not matter either.
    expect(
      applyDeliveryEvents(null, [ev("delivered", 3), ev("processed", 1)], { message_id: MSG }).next!.state,
    ).to.equal("delivered");
  });

  it("when a spam report follows delivery, then it is recorded; a later final state of equal rank replaces an earlier one", () => {
    const delivered = applyDeliveryEvents(null, [ev("delivered", 5)], { message_id: MSG }).next;
    expect(applyDeliveryEvents(delivered, [ev("spamreport", 50)], { message_id: MSG }).next!.state).to.equal(
      "spamreport",
    );
    expect(applyDeliveryEvents(delivered, [ev("bounce", 60)], { message_id: MSG }).next!.state).to.equal(
      "bounce",
    );
    expect(applyDeliveryEvents(delivered, [ev("bounce", 1)], { message_id: MSG }).next!.state).to.equal(
      "delivered",
    );
  });

  it("when events belong to an earlier message (before a resend), then they change nothing", () => {
    const { next, became } = applyDeliveryEvents(null, [ev("bounce", 5, "sg_old", "oldMessage")], {
      message_id: MSG,
    });
    expect(next).to.equal(null);
    expect(became).to.equal(null);
  });

  it("regression (issue 25, defect 6): when the email has no message id (settled by hand), then an event that names only the order counts for nothing; one that names the sending attempt counts", () => {
    const stray = ev("bounce", 5, "sg_stray", "someoneElses");
    expect(applyDeliveryEvents(null, [stray], {}).next).to.equal(null);
    expect(applyDeliveryEvents(null, [stray], { message_id: null, attempt_id: "claim-1" }).next).to.equal(
      null,
    );
    const ours = { ...ev("bounce", 6, "sg_ours", "unknownYet"), attemptId: "claim-1" };
    expect(applyDeliveryEvents(null, [ours], { attempt_id: "claim-1" }).next!.state).to.equal("bounce");
    // Another attempt's event (an earlier send of the same order) does not count either.
    expect(
      applyDeliveryEvents(null, [{ ...ours, attemptId: "claim-0" }], { attempt_id: "claim-1" }).next,
    ).to.equal(null);
    expect(ofEmail(ours, { message_id: "unknownYet" })).to.equal(true);
    expect(messageIdOf(ours)).to.equal("unknownYet");
  });

  it("when a batch mixes our events with other mail, opens and clicks, then only ours are parsed, with their reason and kind", () => {
    const ours = buildSendGridEvent({
      event: "bounce",
      email: "w@example.com",
      messageId: MSG,
      customArgs: { order_id: "cs_1", email_kind: "order" },
      timestamp: 1_800_000_000,
    });
    const notice = buildSendGridEvent({
      event: "delivered",
      email: "w@example.com",
      messageId: "other",
      customArgs: { order_id: "cs_1", email_kind: "stop_notice" },
    });
    const otherMail = buildSendGridEvent({
      event: "delivered",
      email: "x@example.com",
      messageId: "m",
      customArgs: {},
    });
    const open = buildSendGridEvent({
      event: "open",
      email: "w@example.com",
      messageId: MSG,
      customArgs: { order_id: "cs_1" },
    });
    const { events, ignored } = parseDeliveryEvents([ours, notice, otherMail, open]);
    expect(ignored).to.equal(2);
    expect(events).to.have.length(2);
    expect(events[0]).to.deep.include({
      orderId: "cs_1",
      kind: "order",
      state: "bounce",
      at: new Date(1_800_000_000_000),
      reason: "550 5.1.1 The email account that you tried to reach does not exist.",
    });
    expect(events[1]).to.include({ kind: "stop_notice", state: "delivered", reason: "250 2.0.0 OK" });
    expect(isUndelivered("bounce")).to.equal(true);
    expect(isUndelivered("dropped")).to.equal(true);
    expect(isUndelivered("delivered")).to.equal(false);
    expect(isUndelivered(null)).to.equal(false);
  });
});
