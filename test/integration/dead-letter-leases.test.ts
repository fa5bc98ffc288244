import { expect } from "chai";
import { PubSub } from "@google-cloud/pubsub";
import { DeadLetterSubscription } from "../../services/cli/dead-letters.js";
import { replayDeadLetters } from "../../services/cli/commands/dlq.js";
import type { MessagePublisher } from "../../services/common/pubsub.js";
import { requireEmulators } from "../support/emulator-state.js";
import { createTopicWithSubscription } from "../support/pubsub.js";

describe("integration: a long dead-letter replay keeps its messages leased", function () {
  this.timeout(60_000);
  let pubsub: PubSub;

  before(function () {
    const env = requireEmulators(this);
    pubsub = new PubSub({ projectId: env.project });
  });
  after(async () => pubsub?.close());

  it("when republishing takes longer than the lease, then no message is delivered to another reader and each is republished once", async () => {
    const { topic, subscription } = await createTopicWithSubscription(pubsub, "dlq-lease");
    const count = 16;
    for (let i = 0; i < count; i++)
      await pubsub
        .topic(topic)
        .publishMessage({ data: Buffer.from(`{"i":${i}}`), attributes: { event_id: `evt_${i}` } });

    // A slow main topic: 8 workers, 16 messages, 7 s each: the replay takes about 14 s,
    // longer than the 10 s lease (the emulator's minimum).
    const published: string[] = [];
    const slow: MessagePublisher = {
      publish: async (_data, attributes) => {
        await new Promise((r) => setTimeout(r, 7000));
        published.push(attributes.event_id!);
        return String(published.length);
      },
      close: () => Promise.resolve(),
    };
    const replaying = new DeadLetterSubscription(pubsub, subscription.name, 10);
    const other = new DeadLetterSubscription(pubsub, subscription.name, 10);
    try {
      const replay = replayDeadLetters({ dlq: replaying, publisher: slow }, { all: true, limit: 100 });
      // Another reader pulling after the first lease would have lapsed gets nothing.
      await new Promise((r) => setTimeout(r, 11_500));
      const stolen = await other.pull(100);
      await other.release(stolen.map((m) => m.ackId));
      const result = await replay;

      expect(stolen.map((m) => m.attributes.event_id)).to.deep.equal([]);
      expect(result.failed).to.deep.equal([]);
      expect(result.replayed).to.have.length(count);
      expect(new Set(published).size).to.equal(count);
      expect(published).to.have.length(count);
      const left = await other.browse({ limit: 100 });
      expect(left.messages).to.have.length(0);
    } finally {
      await replaying.close();
      await other.close();
    }
  });
});
