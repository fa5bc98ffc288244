import { expect } from "chai";
import { logSources, serviceLogLines } from "./support/log-registry.js";
import { TEST_SECRET } from "./support/stripe-signing.js";
import { STRIPE_TEST_KEY } from "./support/fulfiller-harness.js";
import { LOCAL } from "../services/local/defaults.js";
import { DEFAULT_CUSTOMER } from "../services/local/stripe/objects.js";

// Runs last (its file name sorts after every other): it reads what the whole suite logged.
describe("zz: log hygiene across the whole suite", () => {
  it("when everything both services logged is searched, then no secret and no customer detail appears", () => {
    // Nothing to read means nothing was checked: that is a failure, never a pass.
    expect(serviceLogLines.length, "no log lines were captured: the hygiene check read nothing").to.be.above(
      0,
    );
    console.log(
      `      read ${serviceLogLines.length} lines from ${logSources.size} sources: ${[...logSources.entries()]
        .map(([source, n]) => `${source} ${n}`)
        .join(", ")}`,
    );
    const forbidden = [
      TEST_SECRET,
      "whsec_rolled_new_secret_0002",
      LOCAL.webhookSecret,
      LOCAL.stripeApiKey,
      LOCAL.sendgridApiKey,
      STRIPE_TEST_KEY,
      "SG.test-key",
      DEFAULT_CUSTOMER.email,
      DEFAULT_CUSTOMER.name,
      DEFAULT_CUSTOMER.address.line1,
      DEFAULT_CUSTOMER.phone!,
      "evil@example.com",
    ];
    const text = serviceLogLines.join("\n");
    for (const value of forbidden) {
      const hit = serviceLogLines.find((line) => line.includes(value));
      expect(hit, `found ${JSON.stringify(value)} in a log line`).to.equal(undefined);
    }
    if (logSources.size > 1) {
      // A whole run: both services must have been read, in-process and as child processes.
      expect(text).to.include("fulfiller");
      expect(text).to.include("receiver");
      expect([...logSources.keys()].some((s) => s.startsWith("child:"))).to.equal(true);
    }
  });
});
