import { pino, type DestinationStream, type Logger, type LevelWithSilent } from "pino";
import { isoTime } from "./iso-time.js";

export type { Logger } from "pino";

// Cloud Logging reads `severity` and `message` from structured JSON on stdout.
const SEVERITY: Record<string, string> = {
  trace: "DEBUG",
  debug: "DEBUG",
  info: "INFO",
  warn: "WARNING",
  error: "ERROR",
  fatal: "CRITICAL",
};

export interface LoggerOptions {
  service: string;
  level?: LevelWithSilent;
  /** Where lines go; stdout when absent. Tests pass a capturing stream. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? "info",
      messageKey: "message",
      base: { service: options.service },
      timestamp: () => `,"time":"${isoTime(Date.now())}"`, // pino.stdTimeFunctions.isoTime, cached per ms
      formatters: {
        level: (label) => ({ severity: SEVERITY[label] ?? "DEFAULT" }),
      },
    },
    options.destination,
  );
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
