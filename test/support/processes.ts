import { setTimeout as sleep } from "node:timers/promises";

/** Polls a URL until it answers 200, or throws after timeoutMs. Returns the time it took. */
export async function waitForReady(url: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(500) });
      if (response.ok) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await sleep(25);
  }
  throw new Error(`${url} was not ready within ${timeoutMs} ms`);
}
