/**
 * While `npm start` runs, it writes what it runs (project, emulator hosts, names, keys,
 * URLs) to `.local/stack.json` in the checkout, and removes it on exit. The CLI reads it
 * to target the local stack with nothing set by hand (DESIGN section 7).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
] as const;

export interface LocalStackState {
  /** The `npm start` process: the file is stale when it is gone. */
  pid: number;
  started_at: string;
  env: Partial<Record<(typeof STATE_ENV_KEYS)[number], string>>;
  urls: { receiver: string; fulfiller: string; sendgrid: string; stripe: string | null };
}

function checkoutRoot(): string {
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
