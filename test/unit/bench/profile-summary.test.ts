import { expect } from "chai";
import { summarise } from "../../../bench/measurements/profile.js";

/** A CPU profile as `node --cpu-prof` writes it: a call tree, sample ids and time deltas (µs). */
function profile() {
  const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });
  return {
    nodes: [
      { id: 1, callFrame: frame("(root)", ""), children: [2, 3, 4, 5] },
      { id: 2, callFrame: frame("(idle)", "") },
      {
        id: 3,
        callFrame: frame("parseEvent", "file:///repo/.bench-dist-x1/services/receiver/verify.js", 62),
      },
      { id: 4, callFrame: frame("respond", "file:///repo/node_modules/koa/lib/application.js", 287) },
      { id: 5, callFrame: frame("compose", "file:///repo/node_modules/koa-compose/index.js", 9) },
    ],
    startTime: 1_000,
    // start-up (before the load): 500 µs in koa, not counted
    samples: [4, 3, 3, 4, 2, 5, 3],
    timeDeltas: [500, 100, 100, 50, 100, 50, 100],
  };
}

describe("unit: bench profile summary", () => {
  it("when samples precede the load, then they are left out; the rest is ranked by self time, idle apart", () => {
    const from = 1_000 + 500 + 1; // after the first sample
    const s = summarise(profile(), from, 10, 5);
    expect(s.requests).to.equal(10);
    expect(s.idle_pct).to.equal(20); // 100 of 500 µs
    expect(s.busy_us_per_request).to.equal(40); // 400 µs busy / 10 requests
    expect(s.top.map((e) => e.frame)).to.deep.equal([
      "parseEvent services/receiver/verify.js:63",
      "respond koa/lib/application.js:288",
      "compose koa-compose/index.js:10",
    ]);
    expect(s.top[0]).to.include({ self_pct: 60, us_per_request: 30 });
    expect(s.top[1]).to.include({ self_pct: 10, us_per_request: 5 });
  });

  it("when grouped by package, then node_modules packages and our files are named as such", () => {
    const s = summarise(profile(), 0, 10, 5);
    expect(s.by_package.map((e) => [e.frame, e.self_pct])).to.deep.equal([
      ["koa", 55], // 500 + 50 of 1,000 µs
      ["services/receiver/verify.js", 30],
      ["koa-compose", 5],
    ]);
  });
});
