// Mutation testing (`npm run mutate`): Stryker mutates the domain and the receiver's
// signature verification and runs the unit tests against each mutant, in-process
// through the mocha runner (tsx loads the TypeScript: see the `mutate` script).
// Not part of `npm test`. The report goes to reports/mutation/mutation.json.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "mocha",
  plugins: ["@stryker-mutator/mocha-runner"],
  mutate: [
    "services/fulfiller/classify-event.ts",
    "services/fulfiller/checkout/decide-fulfilment.ts",
    "services/fulfiller/claims/order-state.ts",
    "services/fulfiller/after-sale/after-sale-state.ts",
    "services/fulfiller/email/currency.ts",
    "services/fulfiller/email/compose-email.ts",
    "services/fulfiller/checkout/order-details.ts",
    "services/fulfiller/email/postal-address.ts",
    "services/fulfiller/push/push-auth.ts",
    "services/fulfiller/push/push-envelope.ts",
    "services/receiver/verify-signature.ts",
  ],
  mochaOptions: {
    config: "stryker.mocharc.json",
  },
  coverageAnalysis: "perTest",
  concurrency: 2,
  timeoutMS: 5000,
  reporters: ["clear-text", "progress", "json"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: true, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  ignorePatterns: ["dist", "reports", ".outbox", ".local", "bench/results.json", ".bench-dist-*"],
};
