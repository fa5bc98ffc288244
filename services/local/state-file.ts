/**
 * While `npm start` runs, it writes what it runs (project, emulator hosts, names, keys,
 * URLs) to `.local/stack.json` in the checkout, and removes it on exit. The CLI reads it
 * to target the local stack with nothing set by hand (DESIGN section 7).
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The environment a CLI command needs to reach the local stack. */
export const STATE_ENV_KEYS = [
  "GOOGLE_CLOUD_PROJECT",
  "PUBSUB_EMULATOR_HOST",
  "FIRESTORE_EMULATOR_HOST",
  "PUBSUB_TOPIC",
  "PUBSUB_DLQ_TOPIC",
  "PUBSUB_DLQ_SUBSCRIPTION",
  "STRIPE_API_KEY",
  "STRIPE_API_BASE",
  "STRIPE_WEBHOOK_SECRET",
  "SENDGRID_API_KEY",
  "SENDGRID_API_BASE",
  "EMAIL_FROM",
  "FULFILMENT_EMAIL_TO",
  "FULFILMENT_PRODUCT_IDS",
  "FULFILMENT_OPT_IN_FIELD",
  "FULFIL_TRIALS",
  "PUBSUB_PUSH_SUBSCRIPTION",
  "RECEIVER_URL",
  "ORDER_EMAIL_HASH_KEY",
] as const;

export interface LocalStackState {
  /** The `npm start` process: the file is stale when it is gone. */
  pid: number;
  started_at: string;
  env: Partial<Record<(typeof STATE_ENV_KEYS)[number], string>>;
  urls: { receiver: string; fulfiller: string; sendgrid: string; stripe: string | null };
}

export function checkoutRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json")) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** `.local/stack.json` in the checkout (LOCAL_STATE_FILE overrides it, for tests). */
export function localStateFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.LOCAL_STATE_FILE ?? path.join(checkoutRoot(), ".local", "stack.json");
}

export function writeLocalState(file: string, state: LocalStackState): void {
  mkdirSync(path.dirname(file), { recursive: true });
  // It holds the stack's development keys (or a real test key from .env): owner-only.
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // the mode above applies only when the file is new
}

export function removeLocalState(file: string, pid = process.pid): void {
  const state = readLocalState(file);
  if (state && state.pid !== pid) return; // another stack's file: not ours to remove
  rmSync(file, { force: true });
}

export function readLocalState(file: string): LocalStackState | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LocalStackState;
  } catch {
    return undefined;
  }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The state's keys that name where the CLI will send the operator's keys and commands. */
const URL_KEYS = ["STRIPE_API_BASE", "SENDGRID_API_BASE", "RECEIVER_URL"] as const;
const HOST_KEYS = ["PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST"] as const;

export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/^\[|\]$/g, "").toLowerCase();
  return name === "localhost" || name === "::1" || /^127(\.\d{1,3}){3}$/.test(name);
}

function isLoopbackUrl(value: string): boolean {
  const url = URL.parse(value);
  return !!url && /^https?:$/.test(url.protocol) && isLoopbackHost(url.hostname);
}

/**
 * Why the CLI must not trust a state file whose process is alive, or null when it may.
 * The CLI hands the file's base URLs the operator's keys and its commands, so a file
 * another user could write, left by another program, or naming a host off this machine
 * is refused: owned by this user with mode 0600, written by a live node process of this
 * checkout (read from /proc where there is one), and every base URL on loopback.
 */
export function distrustLocalState(
  file: string,
  state: LocalStackState,
  options: { root?: string; proc?: string } = {},
): string | null {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    return "it cannot be read";
  }
  const uid = process.getuid?.();
  if (uid !== undefined && stat.uid !== uid) return `it is owned by uid ${stat.uid}, not by you (${uid})`;
  if ((stat.mode & 0o077) !== 0)
    return `its mode is ${(stat.mode & 0o777).toString(8)}, not 600 (others could rewrite it)`;
  if (!Number.isSafeInteger(state.pid) || state.pid <= 0) return "it names no process";
  const proc = options.proc ?? "/proc";
  if (existsSync(path.join(proc, "self"))) {
    let exe: string;
    let cwd: string;
    try {
      exe = readlinkSync(path.join(proc, String(state.pid), "exe"));
      cwd = readlinkSync(path.join(proc, String(state.pid), "cwd"));
    } catch {
      return `process ${state.pid} cannot be inspected`;
    }
    if (!/^node(\.exe)?$/.test(path.basename(exe)))
      return `process ${state.pid} is ${path.basename(exe)}, not node`;
    const root = options.root ?? checkoutRoot();
    if (path.resolve(cwd) !== path.resolve(root))
      return `process ${state.pid} runs in ${cwd}, not in this checkout`;
  }
  const urls = [
    ...Object.entries(state.urls ?? {}).filter(([, value]) => value !== null),
    ...URL_KEYS.map((key) => [key, state.env?.[key]] as const).filter(([, value]) => value !== undefined),
  ] as [string, string][];
  for (const [key, value] of urls)
    if (typeof value !== "string" || !isLoopbackUrl(value)) return `${key} is not a loopback URL`;
  for (const key of HOST_KEYS) {
    const value = state.env?.[key];
    if (value !== undefined && !isLoopbackHost(value.slice(0, value.lastIndexOf(":"))))
      return `${key} is not a loopback address`;
  }
  return null;
}
