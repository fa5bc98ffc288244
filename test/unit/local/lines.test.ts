import { expect } from "chai";
import { lineSplitter } from "../../../services/local/lines.js";

describe("unit: whole lines from a child's output", () => {
  it("when a chunk ends mid-line, then the line is delivered whole once the rest arrives, in order", () => {
    const lines: string[] = [];
    const splitter = lineSplitter((l) => lines.push(l));
    splitter.push('{"message":"shutting do');
    splitter.push('wn: draining"}\n{"message":"shutdown');
    expect(lines).to.deep.equal(['{"message":"shutting down: draining"}']);
    splitter.push(' complete"}\n\n');
    splitter.push("tail without newline");
    splitter.flush();
    expect(lines).to.deep.equal([
      '{"message":"shutting down: draining"}',
      '{"message":"shutdown complete"}',
      "tail without newline",
    ]);
  });
});
