import { expect } from "chai";
import { BadEnvelopeError, parsePushEnvelope } from "../../../services/fulfiller/push-envelope.js";

const data = Buffer.from('{"id":"evt_1"}').toString("base64");

describe("unit: push envelope", () => {
  it("when production's camelCase shape arrives, then every field is read, deliveryAttempt included", () => {
    const m = parsePushEnvelope({
      message: {
        data,
        attributes: { event_id: "evt_1" },
        messageId: "42",
        publishTime: "2026-11-27T12:00:00Z",
      },
      subscription: "projects/p/subscriptions/s",
      deliveryAttempt: 3,
    });
    expect(m).to.deep.include({
      messageId: "42",
      publishTime: "2026-11-27T12:00:00Z",
      deliveryAttempt: 3,
      dataProblem: null,
    });
    expect(m.data.toString()).to.equal('{"id":"evt_1"}');
    expect(m.attributes).to.deep.equal({ event_id: "evt_1" });
  });

  it("when the emulator's snake_case shape arrives without deliveryAttempt, then it is read the same", () => {
    const m = parsePushEnvelope({
      message: { data, message_id: "7", publish_time: "2026-11-27T12:00:00Z" },
      subscription: "s",
    });
    expect(m).to.deep.include({ messageId: "7", publishTime: "2026-11-27T12:00:00Z", deliveryAttempt: null });
  });

  it("when the body is not an envelope, then BadEnvelopeError (400); when only the data is bad, then a dataProblem to dead-letter", () => {
    for (const body of [
      null,
      [],
      { nope: 1 },
      { message: { data } },
      { message: { messageId: "1", attributes: "x" } },
    ]) {
      expect(() => parsePushEnvelope(body)).to.throw(BadEnvelopeError);
    }
    expect(parsePushEnvelope({ message: { messageId: "1" } }).dataProblem).to.equal("message has no data");
    expect(parsePushEnvelope({ message: { messageId: "1", data: "%%%" } }).dataProblem).to.equal(
      "message data is not base64",
    );
  });
});
