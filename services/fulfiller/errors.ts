import { PermanentError, TransientError, type AppErrorOptions } from "../common/errors.js";

/** The mail provider definitely did not accept the message. */
export class MailRefusedError extends Error {
  readonly status: number | null;
  readonly isTransient: boolean;

  constructor(message: string, options: { status: number | null; transient: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.isTransient = options.transient;
  }

  toAppError(): TransientError | PermanentError {
    const options: Omit<AppErrorOptions, "status"> = {
      code: `sendgrid_${this.status ?? "refused"}`,
      cause: this,
    };
    return this.isTransient
      ? new TransientError(this.message, options)
      : new PermanentError(this.message, options);
  }
}

/** Whether the provider accepted the message cannot be known (timeout, reset). Never retried automatically. */
export class MailOutcomeUnknownError extends Error {}
