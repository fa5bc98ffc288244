let lastMs = Number.NaN;
let lastIso = "";

/**
 * `new Date(ms).toISOString()`, formatted once per millisecond: the receiver stamps every
 * request twice (the message's `received_at` and its log line's `time`), thousands a second.
 */
export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}
