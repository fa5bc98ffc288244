import { expect } from "chai";
import {
  applyDeliveryEvents,
  isUndelivered,
  parseDeliveryEvents,
  type DeliveryEvent,
} from "../../../services/fulfiller/delivery-state.js";
import { buildSendGridEvent } from "../../../services/local/sendgrid-events.js";

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
});

describe("unit: delivery state from SendGrid's events", () => {
  it("when events arrive in order, then the record follows them and keeps a history", () => {
    const { next, became } = applyDeliveryEvents(null, [ev("processed", 1), ev("delivered", 2)], MSG);
    expect(next).to.include({ state: "delivered", events: 2 });
    expect(next!.at).to.deep.equal(at(2));
    expect(next!.history.map((h) => h.state)).to.deep.equal(["processed", "delivered"]);
    expect(became).to.equal("delivered");
  });

  it("when a batch is retried, then each sg_event_id counts once and nothing changes", () => {
    const first = applyDeliveryEvents(null, [ev("processed", 1), ev("delivered", 2)], MSG).next;
    const again = applyDeliveryEvents(first, [ev("processed", 1), ev("delivered", 2)], MSG);
    expect(again.next).to.deep.equal(first);
    expect(again.became).to.equal(null);
  });

  it("when a late deferred or processed arrives after delivered, then delivered stays", () => {
    const delivered = applyDeliveryEvents(null, [ev("delivered", 5)], MSG).next;
    const late = applyDeliveryEvents(delivered, [ev("deferred", 9), ev("processed", 10)], MSG);
    expect(late.next!.state).to.equal("delivered");
    expect(late.next!.events).to.equal(3);
    expect(late.became).to.equal(null);
  });

  it("when batches come out of order, then the stronger state wins whatever the arrival order", () => {
    const bounceFirst = applyDeliveryEvents(null, [ev("bounce", 5)], MSG).next;
    const thenProcessed = applyDeliveryEvents(bounceFirst, [ev("processed", 1)], MSG);
    expect(thenProcessed.next!.state).to.equal("bounce");
    // Within one batch, the order of the array does not matter either.
    expect(applyDeliveryEvents(null, [ev("delivered", 3), ev("processed", 1)], MSG).next!.state).to.equal(
      "delivered",
    );
  });

  it("when a spam report follows delivery, then it is recorded; a later final state of equal rank replaces an earlier one", () => {
    const delivered = applyDeliveryEvents(null, [ev("delivered", 5)], MSG).next;
    expect(applyDeliveryEvents(delivered, [ev("spamreport", 50)], MSG).next!.state).to.equal("spamreport");
    expect(applyDeliveryEvents(delivered, [ev("bounce", 60)], MSG).next!.state).to.equal("bounce");
    expect(applyDeliveryEvents(delivered, [ev("bounce", 1)], MSG).next!.state).to.equal("delivered");
  });

  it("when events belong to an earlier message (before a resend), then they change nothing", () => {
    const { next, became } = applyDeliveryEvents(null, [ev("bounce", 5, "sg_old", "oldMessage")], MSG);
    expect(next).to.equal(null);
    expect(became).to.equal(null);
    // Without a recorded message id (an older order), every event counts.
    expect(applyDeliveryEvents(null, [ev("bounce", 5, "sg_old", "oldMessage")], null).next!.state).to.equal(
      "bounce",
    );
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
