import { expect } from "chai";
import { describeDeadLetter, replayAttributes } from "../../../services/cli/dead-letter-view.js";
import { parseDuration, parseSince } from "../../../services/cli/output.js";
import type { DeadLetter } from "../../../services/cli/dead-letters.js";

const message = (attributes: Record<string, string>): DeadLetter => ({
  ackId: "a",
  messageId: "m1",
  publishTime: new Date("2026-11-27T10:00:00Z"),
  data: Buffer.from("{}"),
  attributes,
  deliveryAttempt: 1,
});

describe("unit: dead-letter rows and replay attributes", () => {
  it("when the fulfiller dead-lettered it, then the row carries its reason and source", () => {
    const row = describeDeadLetter(
      message({
        event_id: "evt_1",
        event_type: "t",
        dead_letter_reason: "Stripe 404",
        dead_letter_source: "fulfiller",
      }),
    );
    expect(row).to.deep.include({
      event_id: "evt_1",
      reason: "Stripe 404",
      source_subscription: "fulfiller",
      delivery_count: 1,
    });
  });

  it("when Pub/Sub dead-lettered it after its retries, then the row says so with Pub/Sub's count and subscription", () => {
    const row = describeDeadLetter(
      message({
        event_id: "evt_2",
        CloudPubSubDeadLetterSourceDeliveryCount: "10",
        CloudPubSubDeadLetterSourceSubscription: "stripe-events-push",
        CloudPubSubDeadLetterSourceSubscriptionProject: "p",
      }),
    );
    expect(row.reason).to.match(/delivery attempts exhausted \(10 deliveries/);
    expect(row).to.deep.include({ delivery_count: 10, source_subscription: "stripe-events-push" });
  });

  it("when replayed, then every dead-letter attribute is dropped, the originals kept, and replay_count incremented", () => {
    const now = new Date("2026-11-27T12:00:00Z");
    const out = replayAttributes(
      {
        event_id: "evt_1",
        event_type: "checkout.session.completed",
        livemode: "false",
        dead_letter_reason: "x",
        dead_letter_at: "y",
        dead_letter_source: "z",
        dead_letter_message_id: "w",
        CloudPubSubDeadLetterSourceDeliveryCount: "5",
        replay_count: "2",
      },
      now,
    );
    expect(out).to.deep.equal({
      event_id: "evt_1",
      event_type: "checkout.session.completed",
      livemode: "false",
      replayed_at: now.toISOString(),
      replay_count: "3",
    });
  });

  it("when durations and timestamps are given, then they parse, and nonsense is refused", () => {
    expect(parseDuration("90s")).to.equal(90_000);
    expect(parseDuration("2h")).to.equal(7_200_000);
    expect(parseSince("7d", Date.UTC(2026, 10, 27)).toISOString()).to.equal("2026-11-20T00:00:00.000Z");
    expect(parseSince("2026-11-01T00:00:00Z").toISOString()).to.equal("2026-11-01T00:00:00.000Z");
    expect(() => parseDuration("soon")).to.throw(/not a duration/);
    expect(() => parseSince("yesterday")).to.throw(/neither/);
  });
});
