/**
 * Mocha global fixtures: start the Pub/Sub and Firestore emulators once, on free
 * ports, for every integration test; always stop them.
 *
 * The integration tier may only be skipped when the emulators are absent altogether
 * (no gcloud CLI, no Java, or a missing emulator component), and not even then with
 * REQUIRE_EMULATORS=1 (Cloud Build sets it, so it never deploys on a skipped tier).
 * Skipped, its tests are pending, and a banner says so at the start and at the end
 * of the run. Emulators that are installed but fail to start fail the run.
 */
import {
  emulatorProblem,
  startFirestoreEmulator,
  startPubSubEmulator,
  type Emulator,
} from "../../services/local/emulators.js";
import { emulatorState } from "./emulator-state.js";

let started: Emulator[] = [];

export async function mochaGlobalSetup(): Promise<void> {
  if (process.env.SKIP_EMULATORS === "1") {
    emulatorState.problem = "SKIP_EMULATORS=1 was set";
  } else {
    emulatorState.problem = emulatorProblem();
  }
  if (emulatorState.problem) {
    if (process.env.REQUIRE_EMULATORS === "1") {
      banner(`EMULATORS REQUIRED (REQUIRE_EMULATORS=1) BUT UNAVAILABLE: ${emulatorState.problem}`);
      throw new Error(`REQUIRE_EMULATORS=1 and the emulators are unavailable: ${emulatorState.problem}`);
    }
    banner(
      `EMULATORS UNAVAILABLE: ${emulatorState.problem}. Integration and end-to-end tests will be PENDING.`,
    );
    // The summary reporter repeats it at the end, beside the count of pending tests.
    process.env.EMULATORS_PENDING_REASON = emulatorState.problem;
    return;
  }
  const startedAt = Date.now();
  const results = await Promise.allSettled([
    startPubSubEmulator({ project: emulatorState.project }),
    startFirestoreEmulator({ project: emulatorState.project }),
  ]);
  started = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  // A run interrupted (Ctrl-C, `timeout`) still stops the emulators it started.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void stopAll().finally(() => process.exit(130));
    });
  }
  const failure = results.find((r) => r.status === "rejected");
  if (failure) {
    // Installed but not starting (a slow start, a port collision, a regression in
    // emulators.ts) is a failure of the run, never a quiet pending tier.
    emulatorState.problem = String(failure.reason);
    banner(`EMULATORS FAILED TO START: ${emulatorState.problem}. The run fails.`);
    await stopAll();
    throw new Error(`the emulators are installed but failed to start: ${emulatorState.problem}`);
  }
  const [pubsub, firestore] = started;
  emulatorState.pubsubHost = pubsub?.host;
  emulatorState.firestoreHost = firestore?.host;
  process.env.PUBSUB_EMULATOR_HOST = pubsub?.host;
  process.env.FIRESTORE_EMULATOR_HOST = firestore?.host;
  // No metadata server here: skip the Google clients' probe for one.
  process.env.METADATA_SERVER_DETECTION = "none";
  console.log(
    `emulators up in ${Date.now() - startedAt} ms: pubsub ${pubsub?.host}, firestore ${firestore?.host}`,
  );
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stopAll();
}

async function stopAll(): Promise<void> {
  await Promise.all(started.map((e) => e.stop()));
  started = [];
}

function banner(text: string): void {
  const line = "!".repeat(Math.min(100, text.length + 8));
  console.error(`\n${line}\n!!! ${text}\n${line}\n`);
}
