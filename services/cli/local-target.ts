/**
 * Which pipeline a CLI command talks to. A set GOOGLE_CLOUD_PROJECT wins; with none set
 * and `npm start` running, the local stack's state file fills in what is unset; `--local`
 * forces the local stack. Says so on stderr, and fails fast when the stack is down.
 */
import net from "node:net";
import path from "node:path";
import {
  distrustLocalState,
  isProcessAlive,
  localStateFile,
  readLocalState,
  STATE_ENV_KEYS,
  type LocalStackState,
} from "../local/state-file.js";

export class LocalStackDownError extends Error {
  constructor(detail: string, message = "the local stack is not running: start it with `npm start`") {
    super(`${message} (${detail})`);
  }
}

export interface CliTarget {
  /** The environment the command runs with. */
  env: NodeJS.ProcessEnv;
  /** The local stack it targets, if any. */
  local: LocalStackState | null;
  /** Said on stderr before the command runs. */
  notice: string | null;
}

export function resolveTarget(
  env: NodeJS.ProcessEnv,
  /** `fillOnly`: the stack's values fill in what is unset even with --local (doctor checks what it is given). */
  options: { forceLocal: boolean; stateFile?: string; fillOnly?: boolean },
): CliTarget {
  const file = options.stateFile ?? localStateFile(env);
  const shown = path.relative(process.cwd(), file) || file;
  if (!options.forceLocal && env.GOOGLE_CLOUD_PROJECT)
    return { env: quietOnEmulators(env), local: null, notice: null };
  const state = readLocalState(file);
  if (!state) {
    if (options.forceLocal) throw new LocalStackDownError(`no ${shown}`);
    return { env, local: null, notice: null };
  }
  if (!isProcessAlive(state.pid)) {
    if (options.forceLocal)
      throw new LocalStackDownError(`${shown} is left from process ${state.pid}, which is gone`);
    return {
      env,
      local: null,
      notice: `ignoring ${shown}: the local stack that wrote it (process ${state.pid}) is no longer running`,
    };
  }
  const distrust = distrustLocalState(file, state);
  if (distrust) {
    if (options.forceLocal)
      throw new LocalStackDownError(
        distrust,
        `refusing ${shown}: the local stack's state file is not safe to use`,
      );
    return { env, local: null, notice: `ignoring ${shown}: ${distrust}` };
  }
  const merged: NodeJS.ProcessEnv = { ...env };
  for (const key of STATE_ENV_KEYS) {
    const value = state.env[key];
    if (value === undefined) continue;
    // --local forces the stack's values; otherwise a variable already set wins.
    const override = options.forceLocal && !options.fillOnly;
    if (override || merged[key] === undefined || merged[key] === "") merged[key] = value;
  }
  return {
    env: quietOnEmulators(merged),
    local: state,
    notice: `using the local stack started by npm start (${shown}, project ${state.env.GOOGLE_CLOUD_PROJECT ?? "?"})`,
  };
}

/**
 * No Google metadata server exists next to the emulators: the clients' probe for one
 * only prints "MetadataLookupWarning". Off wherever an emulator is the target.
 */
function quietOnEmulators(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!env.PUBSUB_EMULATOR_HOST && !env.FIRESTORE_EMULATOR_HOST) return env;
  return { METADATA_SERVER_DETECTION: "none", ...env };
}

/** Fails within `timeoutMs` with LocalStackDownError when the stack's emulators do not answer. */
export async function assertLocalStackUp(state: LocalStackState, timeoutMs = 1500): Promise<void> {
  const hosts = [state.env.PUBSUB_EMULATOR_HOST, state.env.FIRESTORE_EMULATOR_HOST].filter(
    (h): h is string => !!h,
  );
  await Promise.all(
    hosts.map(
      (host) =>
        new Promise<void>((resolve, reject) => {
          const [name, port] = [
            host.slice(0, host.lastIndexOf(":")),
            Number(host.slice(host.lastIndexOf(":") + 1)),
          ];
          const socket = net.connect({ host: name, port });
          const fail = (why: string) => {
            socket.destroy();
            reject(new LocalStackDownError(`${host} ${why}`));
          };
          socket.setTimeout(timeoutMs, () => fail(`did not answer within ${timeoutMs} ms`));
          socket.once("error", (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
          socket.once("connect", () => {
            socket.destroy();
            resolve();
          });
        }),
    ),
  );
}
