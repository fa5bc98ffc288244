// A one-test spec for test/unit/ci/emulator-tier.test.ts: an integration test as every
// integration suite starts, run by a child mocha with the global fixtures.
import { expect } from "chai";
import { requireEmulators } from "./emulator-state.js";

describe("probe: an integration test", () => {
  it("when the emulators are up, then it runs", function () {
    const env = requireEmulators(this);
    expect(env.pubsubHost).to.be.a("string");
  });
});
