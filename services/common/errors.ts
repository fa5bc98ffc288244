/**
 * One error base for the whole product. `status` is the HTTP answer it maps to;
 * `expose` says whether `message` may be shown to the caller (only ever for 4xx);
 * `code` is a stable machine-readable name for logs, metrics and JSON bodies.
 */
export interface AppErrorOptions {
  status?: number;
  code?: string;
  expose?: boolean;
  cause?: unknown;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly expose: boolean;

  constructor(message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = options.status ?? 500;
    this.code = options.code ?? "internal";
    this.expose = options.expose ?? this.status < 500;
  }
}

/** Start-up configuration is invalid. Lists every problem at once. */
export class ConfigError extends AppError {
  readonly problems: readonly string[];

  constructor(service: string, problems: readonly string[]) {
    super(`${service}: invalid configuration:\n  - ${problems.join("\n  - ")}`, { code: "config" });
    this.problems = problems;
  }
}

/** A failure that may succeed on retry (network, timeout, 429, 5xx, Firestore UNAVAILABLE...). */
export class TransientError extends AppError {
  constructor(message: string, options: Omit<AppErrorOptions, "status"> = {}) {
    super(message, { code: "transient", ...options, status: 503, expose: false });
  }
}

/** A failure that retrying cannot fix (bad message, Stripe 4xx, SendGrid 400/401/403...). */
export class PermanentError extends AppError {
  constructor(message: string, options: Omit<AppErrorOptions, "status"> = {}) {
    super(message, { code: "permanent", ...options, status: 500, expose: false });
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
