/**
 * Mocha global fixtures: start the Pub/Sub and Firestore emulators once, on free
 * ports, for every integration test; always stop them. Where they cannot start,
 * integration tests are marked pending (see requireEmulators) and the reason is
 * printed loudly: that tier never passes silently.
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
    banner(
      `EMULATORS UNAVAILABLE: ${emulatorState.problem}. Integration and end-to-end tests will be PENDING.`,
    );
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
    emulatorState.problem = String(failure.reason);
    banner(`EMULATORS FAILED TO START: ${emulatorState.problem}. Integration tests will be PENDING.`);
    await stopAll();
    return;
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
