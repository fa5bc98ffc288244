import { pino, type DestinationStream, type Logger, type LevelWithSilent } from "pino";

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
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ severity: SEVERITY[label] ?? "DEFAULT" }),
      },
    },
    options.destination,
  );
}

/**
 * Fields that correlate a log line with its request trace in Cloud Logging,
 * from `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=OPTIONS`.
 */
export function traceFields(
  header: string | undefined,
  project: string | undefined,
): Record<string, string | boolean> {
  if (!header) return {};
  const match = /^([0-9a-fA-F]{32})(?:\/(\d+))?(?:;o=(\d))?/.exec(header);
  if (!match?.[1]) return {};
  const fields: Record<string, string | boolean> = {
    "logging.googleapis.com/trace": project ? `projects/${project}/traces/${match[1]}` : match[1],
  };
  if (match[2]) fields["logging.googleapis.com/spanId"] = match[2];
  if (match[3] !== undefined) fields["logging.googleapis.com/trace_sampled"] = match[3] === "1";
  return fields;
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
