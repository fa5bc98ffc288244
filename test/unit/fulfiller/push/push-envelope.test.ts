import { expect } from "chai";
import { BadEnvelopeError, parsePushEnvelope } from "../../../../services/fulfiller/push/push-envelope.js";

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

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("unit: push envelope, field by field", () => {
  function refusal(body: unknown): string {
    try {
      parsePushEnvelope(body);
    } catch (err) {
      expect(err).to.be.instanceOf(BadEnvelopeError);
      expect((err as BadEnvelopeError).status).to.equal(400);
      expect((err as BadEnvelopeError).code).to.equal("bad_envelope");
      return (err as Error).message;
    }
    return "accepted";
  }

  it("when the envelope is malformed, then 400 names what is wrong", () => {
    expect(refusal([])).to.equal("not a Pub/Sub push envelope: body is not a JSON object");
    expect(refusal({ message: "x" })).to.equal("not a Pub/Sub push envelope: no message object");
    expect(refusal({ message: { messageId: "" } })).to.equal(
      "not a Pub/Sub push envelope: message has no messageId",
    );
    expect(refusal({ message: { messageId: 7 } })).to.equal(
      "not a Pub/Sub push envelope: message has no messageId",
    );
    expect(refusal({ message: { messageId: "1", attributes: ["a"] } })).to.equal(
      "not a Pub/Sub push envelope: attributes is not an object",
    );
    expect(refusal({ message: { messageId: "1", attributes: null, data: b64("{}") } })).to.equal("accepted");
  });

  it("when fields are present or absent, then each is read or defaulted exactly", () => {
    const full = parsePushEnvelope({
      message: {
        messageId: "42",
        data: b64('{"a":1}'),
        attributes: { event_id: "evt_1", count: 3 },
        publishTime: "2026-11-27T12:00:00Z",
      },
      subscription: "projects/p/subscriptions/s",
      deliveryAttempt: 4,
    });
    expect(full).to.deep.equal({
      messageId: "42",
      publishTime: "2026-11-27T12:00:00Z",
      attributes: { event_id: "evt_1" }, // non-string attribute values are dropped
      data: Buffer.from('{"a":1}'),
      rawData: b64('{"a":1}'),
      subscription: "projects/p/subscriptions/s",
      deliveryAttempt: 4,
      dataProblem: null,
    });
    const bare = parsePushEnvelope({
      message: { message_id: "43", data: 5, publish_time: 9 },
      subscription: 1,
    });
    expect(bare).to.deep.equal({
      messageId: "43",
      publishTime: null,
      attributes: {},
      data: Buffer.alloc(0),
      rawData: "",
      subscription: null,
      deliveryAttempt: null,
      dataProblem: "message has no data",
    });
    expect(parsePushEnvelope({ message: { messageId: "1", data: "" } }).dataProblem).to.equal(
      "message has no data",
    );
    expect(parsePushEnvelope({ message: { messageId: "1", data: "not base64!" } }).dataProblem).to.equal(
      "message data is not base64",
    );
    // Padding of one or two '=' is base64; three is not. Line breaks inside are tolerated.
    expect(parsePushEnvelope({ message: { messageId: "1", data: "YQ==" } }).data.toString()).to.equal("a");
    expect(parsePushEnvelope({ message: { messageId: "1", data: "YWI=" } }).data.toString()).to.equal("ab");
    expect(parsePushEnvelope({ message: { messageId: "1", data: "YQ===" } }).dataProblem).to.equal(
      "message data is not base64",
    );
    expect(parsePushEnvelope({ message: { messageId: "1", data: "YW\nJj" } }).data.toString()).to.equal(
      "abc",
    );
    expect(
      parsePushEnvelope({ message: { messageId: "1", data: "YQ==" }, delivery_attempt: 2 }).deliveryAttempt,
    ).to.equal(2);
  });
});
