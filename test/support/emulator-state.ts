import type { Context } from "mocha";

/** Shared between the global fixtures and the integration tests. */
export const emulatorState: {
  project: string;
  pubsubHost?: string | undefined;
  firestoreHost?: string | undefined;
  problem?: string | undefined;
} = { project: "test-project" };

/** In an integration suite's before(): marks the suite pending, loudly, when the emulators are not up. */
export function requireEmulators(ctx: Context): {
  pubsubHost: string;
  firestoreHost: string;
  project: string;
} {
  if (emulatorState.problem || !emulatorState.pubsubHost || !emulatorState.firestoreHost) {
    console.error(
      `!!! PENDING: ${ctx.test?.parent?.fullTitle() ?? "suite"}: emulators unavailable (${emulatorState.problem ?? "not started"})`,
    );
    ctx.skip();
  }
  return {
    pubsubHost: emulatorState.pubsubHost,
    firestoreHost: emulatorState.firestoreHost,
    project: emulatorState.project,
  };
}
