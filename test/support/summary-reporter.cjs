// The spec reporter, plus one closing line in the plain form CI reads:
// "tests: N passed, N failed, N skipped". Pending tiers are named loudly.
const Mocha = require("mocha");

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const pending = new Map();
    runner.on("pending", (test) => {
      const tier = test.titlePath()[0] ?? "(root)";
      pending.set(tier, (pending.get(tier) ?? 0) + 1);
    });
    runner.once("end", () => {
      const s = runner.stats ?? { passes: 0, failures: 0, pending: 0 };
      if (process.env.EMULATORS_PENDING_REASON) {
        const text = `EMULATORS UNAVAILABLE: ${process.env.EMULATORS_PENDING_REASON}. The integration and end-to-end tiers did NOT run.`;
        const line = "!".repeat(Math.min(100, text.length + 8));
        console.log(`\n${line}\n!!! ${text}\n${line}`);
      }
      if (pending.size > 0) {
        console.log("\n!!! PENDING (not run, not passed):");
        for (const [tier, count] of pending) console.log(`!!!   ${tier}: ${count} test(s)`);
      }
      console.log(`\ntests: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped`);
    });
  }
}

module.exports = SummaryReporter;
