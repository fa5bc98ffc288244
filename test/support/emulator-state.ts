import { createHash } from "node:crypto";
import type { Context } from "mocha";

/** Shared between the global fixtures and the integration tests. */
export const emulatorState: {
  project: string;
  pubsubHost?: string | undefined;
  firestoreHost?: string | undefined;
  problem?: string | undefined;
} = { project: "test-project" };

/**
 * In an integration suite's before(): marks the suite pending, loudly, when the emulators
 * are not up. Each top-level suite gets a Google Cloud project of its own on the
 * emulators (both take any project id), so no suite sees another's orders, topics or
 * dead letters, whatever order they run in. The harness reads it from emulatorState.
 */
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
  let suite = ctx.test?.parent;
  while (suite?.parent && !suite.parent.root) suite = suite.parent;
  const title = suite?.title ?? "suite";
  emulatorState.project = `t-${createHash("sha256").update(title).digest("hex").slice(0, 12)}`;
  return {
    pubsubHost: emulatorState.pubsubHost,
    firestoreHost: emulatorState.firestoreHost,
    project: emulatorState.project,
  };
}
