import { expect } from "chai";
import { callgrindTotal } from "../../../bench/measurements/instructions.js";

describe("unit: bench instructions, reading a callgrind dump", () => {
  it("when the dump has a summary line, then its count is the total", () => {
    const dump =
      "# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\npid: 20597\nthread: 1\n\nevents: Ir\n\nsummary: 504038112\n\nfn=(1) main\n5 12\n";
    expect(callgrindTotal(dump)).to.equal(504_038_112);
  });

  it("when the dump has only a totals line (older callgrind), then that is the total", () => {
    expect(callgrindTotal("events: Ir\ntotals: 123456\n")).to.equal(123_456);
  });

  it("when neither line is there (a truncated dump), then it refuses rather than count zero", () => {
    expect(() => callgrindTotal("events: Ir\nfn=(1) main\n")).to.throw(/no summary or totals line/);
  });
});
