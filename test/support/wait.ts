import { setTimeout as sleep } from "node:timers/promises";

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Waits until `probe`'s value has not changed for `quietMs` (measured from its last
 * change), instead of a fixed sleep: a late, wrong side effect (a second email, a
 * redelivery) gets the time to show up, and a quick system is not kept waiting.
 */
export async function waitForQuiet(
  what: string,
  probe: () => unknown,
  quietMs = 1500,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<void> {
  const started = Date.now();
  let last = JSON.stringify(await probe());
  let changedAt = Date.now();
  for (;;) {
    await sleep(intervalMs);
    const now = JSON.stringify(await probe());
    if (now !== last) {
      last = now;
      changedAt = Date.now();
    } else if (Date.now() - changedAt >= quietMs) return;
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} to settle`);
  }
}
