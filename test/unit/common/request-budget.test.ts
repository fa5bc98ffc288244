import { expect } from "chai";
import { BudgetExhaustedError, RequestBudget } from "../../../services/common/request-budget.js";

/** A budget on a clock that only moves when a caller sleeps. */
function onFakeClock(options: { rate: number; burst?: number; random?: () => number; slowDownMs?: number }) {
  let now = 1_000_000;
  const sleeps: number[] = [];
  const budget = new RequestBudget({
    ratePerSecond: options.rate,
    ...(options.burst ? { burst: options.burst } : {}),
    ...(options.slowDownMs ? { slowDownMs: options.slowDownMs } : {}),
    now: () => now,
    random: options.random ?? (() => 0.5),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
  });
  return {
    budget,
    sleeps,
    advance: (ms: number) => (now += ms),
    at: () => now,
  };
}

describe("unit: the Stripe request budget (a token bucket, DESIGN 5)", () => {
  it("spaces requests at the rate: the first goes at once, each next one interval later", async () => {
    const { budget } = onFakeClock({ rate: 10 });
    const waits = [];
    for (let i = 0; i < 5; i++) waits.push(await budget.take(10_000));
    // Reservations, all made at the same instant: 0, 100, 200, 300, 400 ms.
    expect(waits).to.deep.equal([0, 100, 200, 300, 400]);
    expect(budget.stats).to.include({ taken: 5, waited: 4, refused: 0 });
  });

  it("lets a burst go at once after a quiet spell, then spaces the rest", async () => {
    const { budget, advance } = onFakeClock({ rate: 4, burst: 3 });
    advance(10_000);
    const waits = [];
    for (let i = 0; i < 5; i++) waits.push(await budget.take(10_000));
    expect(waits).to.deep.equal([0, 0, 0, 250, 500]);
  });

  it("keeps no more than the burst for a long quiet spell", async () => {
    const { budget, advance } = onFakeClock({ rate: 2, burst: 2 });
    await budget.take(1000);
    advance(60_000);
    expect([await budget.take(5000), await budget.take(5000), await budget.take(5000)]).to.deep.equal([
      0, 0, 500,
    ]);
  });

  it("refuses at once, taking nothing, when the token is further away than the caller's time left", async () => {
    const { budget } = onFakeClock({ rate: 5 });
    expect(await budget.take(1000)).to.equal(0); // next at +200
    expect(await budget.take(1000)).to.equal(200); // next at +400
    const err = await budget.take(300).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(BudgetExhaustedError);
    expect((err as BudgetExhaustedError).message).to.equal(
      "Stripe request budget: the next token is 400 ms away at 5 requests/s, and the attempt has 300 ms left",
    );
    expect((err as BudgetExhaustedError).status).to.equal(503);
    // The refusal reserved nothing: the next caller with time gets the same slot.
    expect(await budget.take(1000)).to.equal(400);
    expect(budget.stats).to.include({ taken: 3, refused: 1 });
  });

  it("halves the rate on a 429 and pushes the next token back by a jittered interval", async () => {
    const { budget } = onFakeClock({ rate: 10, random: () => 0.5 });
    await budget.take(1000); // next at +100
    budget.rateLimited();
    expect(budget.currentRate()).to.equal(5);
    // tat was +100; plus one new interval (200 ms) times 0.5 + 0.5.
    expect(await budget.take(10_000)).to.equal(300);
    expect(await budget.take(10_000)).to.equal(500);
    budget.rateLimited();
    budget.rateLimited();
    expect(budget.currentRate()).to.equal(1.25);
    expect(budget.stats.rateLimited).to.equal(3);
  });

  it("never slows below a sixteenth of the rate, however many 429s", () => {
    const { budget } = onFakeClock({ rate: 16 });
    for (let i = 0; i < 20; i++) budget.rateLimited();
    expect(budget.currentRate()).to.equal(1);
  });

  it("comes back by doubling once per quiet slow-down period, with the period jittered", () => {
    const low = onFakeClock({ rate: 8, slowDownMs: 10_000, random: () => 0 });
    low.budget.rateLimited();
    low.budget.rateLimited(); // 2 requests/s, until now + 10 s * (0.5 + 0)
    expect(low.budget.currentRate()).to.equal(2);
    low.advance(4_999);
    expect(low.budget.currentRate()).to.equal(2);
    low.advance(1);
    expect(low.budget.currentRate()).to.equal(4);
    low.advance(10_000);
    expect(low.budget.currentRate()).to.equal(8);
    low.advance(100_000);
    expect(low.budget.currentRate()).to.equal(8);

    const high = onFakeClock({ rate: 8, slowDownMs: 10_000, random: () => 0.999 });
    high.budget.rateLimited();
    high.advance(14_000);
    expect(high.budget.currentRate(), "jitter stretches the slow-down to ~1.5x").to.equal(4);
  });

  it("serves callers in the order they asked, on a real clock", async () => {
    const budget = new RequestBudget({ ratePerSecond: 50 });
    const order: number[] = [];
    const started = Date.now();
    await Promise.all([0, 1, 2, 3, 4].map((i) => budget.take(5_000).then(() => order.push(i))));
    expect(order).to.deep.equal([0, 1, 2, 3, 4]);
    // Four intervals of 20 ms passed before the last was served (a floor, not a timing goal).
    expect(Date.now() - started).to.be.at.least(75);
  });

  it("refuses a rate of zero or less at construction", () => {
    expect(() => new RequestBudget({ ratePerSecond: 0 })).to.throw(/above 0/);
  });
});
