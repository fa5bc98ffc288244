/**
 * Whole lines from a stream's chunks: a chunk may end mid-line (a pipe hands over what
 * it has), so the tail waits for the rest instead of being printed as a line of its own.
 */
export function lineSplitter(onLine: (line: string) => void): {
  push(chunk: Buffer | string): void;
  flush(): void;
} {
  let pending = "";
  return {
    push(chunk) {
      const text = pending + (typeof chunk === "string" ? chunk : chunk.toString("utf8"));
      const lines = text.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) if (line.trim()) onLine(line);
    },
    flush() {
      if (pending.trim()) onLine(pending);
      pending = "";
    },
  };
}
