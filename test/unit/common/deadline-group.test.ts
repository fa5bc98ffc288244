import { expect } from "chai";
import { DeadlineExceededError, DeadlineGroup } from "../../../services/common/pubsub.js";
import { isoTime } from "../../../services/common/iso-time.js";

describe("unit: the receiver's shared publish deadline", () => {
  it("when a call settles in time, then its value or error passes through unchanged", async () => {
    const group = new DeadlineGroup(200, "publish");
    expect(await group.run(Promise.resolve("m-1"))).to.equal("m-1");
    const failure = new Error("refused");
    const caught = await group.run(Promise.reject(failure)).catch((err: unknown) => err);
    expect(caught).to.equal(failure);
  });

  it("when calls outlive the bound, then each is rejected soon after its own deadline, the rest untouched", async () => {
    const group = new DeadlineGroup(80, "publish", 10);
    const started = performance.now();
    const never = new Promise<never>(() => {});
    const first = group.run<never>(never).catch((err: unknown) => ({ err, at: performance.now() - started }));
    await new Promise((r) => setTimeout(r, 40));
    // Its own start, as measured: a 40 ms timer may fire a fraction of a millisecond early
    // on performance.now()'s clock (a fresh-clone CI saw 39.7).
    const secondStarted = performance.now() - started;
    const second = group
      .run<never>(never)
      .catch((err: unknown) => ({ err, at: performance.now() - started }));
    let settleLate!: (v: string) => void;
    const inTime = group.run(new Promise<string>((r) => (settleLate = r)));
    setTimeout(() => settleLate("m-2"), 60); // 60 ms after it began: inside its 80 ms
    const [a, b] = await Promise.all([first, second]);
    expect(a.err).to.be.instanceOf(DeadlineExceededError);
    expect((a.err as Error).message).to.equal("publish timed out after 80 ms");
    expect(a.at).to.be.within(80, 80 + 60); // resolution 10 ms, plus a busy machine's timer slack
    expect(b.at - secondStarted).to.be.within(80, 80 + 60);
    expect(await inTime).to.equal("m-2");
  });

  it("when nothing is pending, then no timer is left running (the process can exit)", async () => {
    const group = new DeadlineGroup(50, "publish", 5);
    await group.run(Promise.resolve(1));
    await new Promise((r) => setTimeout(r, 20));
    expect((group as unknown as { timer: unknown }).timer).to.equal(undefined);
  });
});

describe("unit: ISO time, formatted once per millisecond", () => {
  it("when asked for any millisecond, then it is exactly Date#toISOString, also after another one", () => {
    for (const ms of [0, 1_764_374_400_000, 1_764_374_400_001, 1_764_374_400_000, 951_782_400_999]) {
      expect(isoTime(ms)).to.equal(new Date(ms).toISOString());
    }
  });
});
