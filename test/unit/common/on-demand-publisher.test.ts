import { expect } from "chai";
import { OnDemandPublisher, type MessagePublisher } from "../../../services/common/pubsub.js";
import { TransientError } from "../../../services/common/errors.js";

/** A publisher that records what it was given; `made` counts creations. */
function factory(options: { failFirst?: boolean } = {}) {
  const state = { made: 0, closed: 0, published: [] as string[] };
  let failures = options.failFirst ? 1 : 0;
  const create = async (): Promise<MessagePublisher> => {
    await new Promise((r) => setImmediate(r)); // as an import would, it takes a turn
    if (failures-- > 0) throw new Error("cannot load the client");
    state.made++;
    return {
      publish: (data) => {
        state.published.push(data.toString());
        return Promise.resolve(`id-${state.published.length}`);
      },
      close: () => {
        state.closed++;
        return Promise.resolve();
      },
    };
  };
  return { state, create };
}

describe("unit: OnDemandPublisher (the fulfiller's dead-letter client, made on first use)", () => {
  it("when nothing is published, then no client is made and close does nothing", async () => {
    const { state, create } = factory();
    const publisher = new OnDemandPublisher(create);
    await publisher.close();
    expect(state).to.deep.equal({ made: 0, closed: 0, published: [] });
  });

  it("when several publishes arrive before the client exists, then one client is made and each is published once", async () => {
    const { state, create } = factory();
    const publisher = new OnDemandPublisher(create);
    const ids = await Promise.all(["a", "b", "c"].map((d) => publisher.publish(Buffer.from(d), {})));
    expect(state.made).to.equal(1);
    expect(state.published).to.deep.equal(["a", "b", "c"]);
    expect(ids).to.deep.equal(["id-1", "id-2", "id-3"]);
    await publisher.publish(Buffer.from("d"), {});
    expect(state.made).to.equal(1);
    await publisher.close();
    expect(state.closed).to.equal(1);
    const late = await publisher.publish(Buffer.from("e"), {}).then(
      () => null,
      (e: unknown) => e,
    );
    expect(late, "a publish after close").to.be.instanceOf(TransientError);
    expect(state.made, "no new client after close").to.equal(1);
  });

  it("when making the client fails, then that publish fails as transient and the next one tries again", async () => {
    const { state, create } = factory({ failFirst: true });
    const publisher = new OnDemandPublisher(create);
    const err = await publisher.publish(Buffer.from("a"), {}).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(TransientError);
    expect((err as Error).cause).to.match(/cannot load the client/);
    expect(await publisher.publish(Buffer.from("b"), {})).to.equal("id-1");
    expect(state).to.include({ made: 1 });
    expect(state.published).to.deep.equal(["b"]);
  });
});
