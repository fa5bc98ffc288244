import { expect } from "chai";
import { lazyCatalog } from "../../../services/fulfiller/adapters/lazy-catalog.js";
import type { StripeCatalog } from "../../../services/fulfiller/ports.js";

describe("unit: the Stripe catalog loads on its first call (start-up, DESIGN 10)", () => {
  it("when nothing calls Stripe, then nothing is loaded; the first calls load it once, with the arguments and the catalog as this", async () => {
    let loads = 0;
    const seen: unknown[] = [];
    const real = {
      prefix: "cs_",
      getDisputedCharge(this: { prefix: string }, id: string, o: { timeoutMs: number }) {
        seen.push([this.prefix, id, o.timeoutMs]);
        return Promise.resolve(`ch_for_${id}`);
      },
    };
    const catalog = lazyCatalog(async () => {
      loads += 1;
      await new Promise((r) => setTimeout(r, 5));
      return real as unknown as StripeCatalog;
    });
    expect(loads).to.equal(0);
    const answers = await Promise.all([
      catalog.getDisputedCharge("du_1", { timeoutMs: 10 }),
      catalog.getDisputedCharge("du_2", { timeoutMs: 20 }),
    ]);
    expect(answers).to.deep.equal(["ch_for_du_1", "ch_for_du_2"]);
    expect(loads).to.equal(1);
    expect(seen).to.deep.equal([
      ["cs_", "du_1", 10],
      ["cs_", "du_2", 20],
    ]);
  });

  it("when the load fails, then that call fails and the next one loads again", async () => {
    let loads = 0;
    const catalog = lazyCatalog(() => {
      loads += 1;
      return loads === 1
        ? Promise.reject(new Error("cannot load the SDK"))
        : Promise.resolve({ getDisputedCharge: () => Promise.resolve("ch_1") } as unknown as StripeCatalog);
    });
    const err = await catalog.getDisputedCharge("du_1", { timeoutMs: 1 }).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(err).to.equal("cannot load the SDK");
    expect(await catalog.getDisputedCharge("du_1", { timeoutMs: 1 })).to.equal("ch_1");
    expect(loads).to.equal(2);
  });
});
