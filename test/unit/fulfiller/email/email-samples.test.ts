import { expect } from "chai";
import { readFile } from "node:fs/promises";
import { renderEmailSamples } from "../../../../scripts/render-emails.js";

describe("unit: docs/EMAILS.md", () => {
  it("when the composer changes, then the committed samples are regenerated (`npm run docs:emails`)", async () => {
    const committed = await readFile(new URL("../../../../docs/EMAILS.md", import.meta.url), "utf8");
    expect(
      committed === renderEmailSamples(),
      "docs/EMAILS.md is out of date: run `npm run docs:emails`",
    ).to.equal(true);
  });
});
