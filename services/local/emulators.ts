import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./ports.js";
import { lineSplitter } from "./lines.js";

export interface Emulator {
  name: "pubsub" | "firestore";
  /** host:port, the value for PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST. */
  host: string;
  port: number;
  process: ChildProcess;
  /** Stops the emulator and its Java child (the whole process group). */
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  port?: number;
  project?: string;
  /** Receives each line the emulator prints. */
  onLine?: (line: string) => void;
  startTimeoutMs?: number;
}

const INSTALL_HINT: Record<Emulator["name"], string> = {
  pubsub:
    "gcloud components install pubsub-emulator beta (or apt-get install google-cloud-cli-pubsub-emulator)",
  firestore:
    "gcloud components install cloud-firestore-emulator (or apt-get install google-cloud-cli-firestore-emulator)",
};

export class EmulatorUnavailableError extends Error {}

/** Why the emulators cannot run here, or undefined when they can. */
export function emulatorProblem(): string | undefined {
  const gcloud = spawnSync("gcloud", ["--version"], { encoding: "utf8" });
  if (gcloud.error || gcloud.status !== 0) {
    return "the gcloud CLI is not installed (https://cloud.google.com/sdk/docs/install)";
  }
  const java = spawnSync("java", ["-version"], { encoding: "utf8" });
  if (java.error || java.status !== 0) return "Java (17 or newer) is not installed; the emulators need it";
  const components = gcloud.stdout;
  if (!/pubsub-emulator/.test(components)) return `the Pub/Sub emulator is missing: ${INSTALL_HINT.pubsub}`;
  if (!/cloud-firestore-emulator/.test(components))
    return `the Firestore emulator is missing: ${INSTALL_HINT.firestore}`;
  return undefined;
}

export async function startPubSubEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const port = options.port ?? (await freePort());
  return startEmulator(
    "pubsub",
    port,
    [
      "beta",
      "emulators",
      "pubsub",
      "start",
      `--host-port=127.0.0.1:${port}`,
      `--project=${options.project ?? "local-project"}`,
    ],
    options,
  );
}

export async function startFirestoreEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const port = options.port ?? (await freePort());
  return startEmulator(
    "firestore",
    port,
    ["emulators", "firestore", "start", `--host-port=127.0.0.1:${port}`],
    options,
  );
}

async function startEmulator(
  name: Emulator["name"],
  port: number,
  args: string[],
  options: EmulatorOptions,
): Promise<Emulator> {
  // detached: the emulator gets its own process group, so stop() reaches the Java child too.
  const child = spawn("gcloud", args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const collect = (line: string) => {
    output.push(line);
    if (output.length > 50) output.shift();
    options.onLine?.(line);
  };
  for (const stream of [child.stdout, child.stderr]) {
    const lines = lineSplitter(collect);
    stream.on("data", (chunk: Buffer) => lines.push(chunk));
    stream.on("end", () => lines.flush());
  }
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      resolve();
    });
    child.once("error", () => {
      exited = true;
      resolve();
    });
  });

  const stop = async () => {
    if (exited || child.pid === undefined) return;
    killGroup(child.pid, "SIGTERM");
    const timedOut = await Promise.race([exitPromise.then(() => false), sleep(5000).then(() => true)]);
    if (timedOut) killGroup(child.pid, "SIGKILL");
    await exitPromise;
    // The Java child can outlive the gcloud wrapper briefly; make sure it is gone.
    killGroup(child.pid, "SIGKILL");
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  const url = `http://127.0.0.1:${port}/`;
  while (Date.now() < deadline) {
    if (exited) {
      throw new EmulatorUnavailableError(
        `${name} emulator exited during start-up (${INSTALL_HINT[name]}):\n${output.slice(-10).join("\n")}`,
      );
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return { name, host: `127.0.0.1:${port}`, port, process: child, stop };
    } catch {
      // not up yet
    }
    await sleep(150);
  }
  await stop();
  throw new EmulatorUnavailableError(`${name} emulator did not answer on ${url} within the start-up timeout`);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Deletes every document in the Firestore emulator's database (between tests). */
export async function clearFirestore(host: string, project: string): Promise<void> {
  const response = await fetch(
    `http://${host}/emulator/v1/projects/${project}/databases/(default)/documents`,
    { method: "DELETE" },
  );
  if (!response.ok) throw new Error(`clearing the Firestore emulator failed: ${response.status}`);
}
