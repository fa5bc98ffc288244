/** Small output helpers: tables, durations, progress. */

/**
 * A plain-text table. Ids (columns named `id` or `…_id`) are always printed whole, so
 * they can be copied into the next command; only free text (a reason) is cut, at 60.
 */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return "-";
    const text = typeof v === "string" ? v : JSON.stringify(v);
    return text.replace(/\s+/g, " ");
  };
  const isId = (column: string) => column === "id" || column.endsWith("_id");
  const widths = columns.map((c) => {
    const widest = Math.max(c.length, ...rows.map((r) => cell(r[c]).length));
    return isId(c) ? widest : Math.min(60, widest);
  });
  const line = (values: string[]) =>
    values
      .map((v, i) => (v.length > widths[i]! ? `${v.slice(0, widths[i]! - 1)}…` : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [
    line(columns.map((c) => c.toUpperCase())),
    ...rows.map((r) => line(columns.map((c) => cell(r[c])))),
  ].join("\n");
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "90s", "15m", "2h", "7d", "1w" → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a duration such as 30m, 6h or 7d`);
  return Number(match[1]) * UNITS[match[2]!]!;
}

/** A duration back from now ("7d") or an ISO 8601 timestamp → a Date. */
export function parseSince(text: string, now = Date.now()): Date {
  if (/^\d+(?:\.\d+)?\s*[smhdw]$/.test(text.trim())) return new Date(now - parseDuration(text));
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw new Error(`"${text}" is neither a duration (7d) nor an ISO 8601 timestamp`);
  return date;
}

export function age(from: Date | null, now = Date.now()): string {
  if (!from) return "-";
  const s = Math.max(0, Math.round((now - from.getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** A one-line progress bar on stderr when it is a terminal; silent otherwise. */
export class Progress {
  private readonly enabled = process.stderr.isTTY === true;
  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}
  tick(done: number): void {
    if (!this.enabled || this.total < 20) return;
    const width = 30;
    const filled = Math.round((done / this.total) * width);
    process.stderr.write(
      `\r${this.label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${this.total}`,
    );
    if (done >= this.total) process.stderr.write("\n");
  }
}

/** Wrong use of a command found after parsing (exit code 2, message printed). */
export class UsageError extends Error {}
