import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../services/common/logger.js";
import { recordServiceLine } from "./log-registry.js";

/** A logger whose JSON lines are kept for assertions (and for the no-secrets-in-logs check). */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  readonly logger: Logger;

  constructor(service = "test", level: "debug" | "info" = "debug") {
    const stream = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        for (const line of chunk.toString("utf8").split("\n")) {
          if (!line) continue;
          this.raw.push(line);
          recordServiceLine("in-process", line);
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
        }
        callback();
      },
    });
    this.logger = createLogger({ service, level, destination: stream });
  }

  find(predicate: (line: Record<string, unknown>) => boolean): Record<string, unknown> | undefined {
    return this.lines.find(predicate);
  }
}
