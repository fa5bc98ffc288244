/** `npm run soak [-- --orders N]`: the full soak with its own emulators; exits non-zero on any lost or doubled order. */
import { writeFileSync } from "node:fs";
import { startFirestoreEmulator, startPubSubEmulator } from "../../services/local/emulators.js";
import { renderReport, runSoak } from "./soak.js";

const argv = process.argv.slice(2);
const ordersIndex = argv.indexOf("--orders");
const orders = ordersIndex >= 0 ? Number(argv[ordersIndex + 1]) : 240;
const project = "soak-project";
const [pubsub, firestore] = await Promise.all([startPubSubEmulator({ project }), startFirestoreEmulator()]);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void Promise.all([pubsub.stop(), firestore.stop()]).finally(() => process.exit(130));
  });
}
process.env.PUBSUB_EMULATOR_HOST = pubsub.host;
process.env.FIRESTORE_EMULATOR_HOST = firestore.host;
process.env.METADATA_SERVER_DETECTION = "none";
let exitCode = 0;
try {
  const report = await runSoak({
    orders,
    copies: 3,
    emulators: { pubsubHost: pubsub.host, firestoreHost: firestore.host },
    project,
    kill: true,
    timeoutMs: 300_000,
    log: (line) => console.error(line),
  });
  console.log(renderReport(report));
  writeFileSync("soak-results.json", `${JSON.stringify(report, null, 2)}\n`);
  if (report.lost || report.doubled) {
    console.error(`FAIL: lost ${report.lost}, doubled ${report.doubled}`);
    for (const id of report.lost_ids) console.error(`  lost: ${id}`);
    exitCode = 1;
  }
} finally {
  await Promise.all([pubsub.stop(), firestore.stop()]);
}
process.exit(exitCode);
