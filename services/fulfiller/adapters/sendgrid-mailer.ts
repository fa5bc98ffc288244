import { Client } from "@sendgrid/client";
import { MailService } from "@sendgrid/mail";
import type { CallOptions, Mailer, OutgoingEmail } from "../ports.js";
import { MailOutcomeUnknownError, MailRefusedError } from "../errors.js";

export interface SendGridOptions {
  apiKey: string;
  /** Base URL without /v3, e.g. http://127.0.0.1:3030 for a local capture server. */
  apiBase?: string | undefined;
}

/** Network errors that prove the request never reached SendGrid. */
const NOT_SENT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

interface SendGridError {
  code?: number | string;
  response?: { status?: number; statusCode?: number; body?: unknown };
  message?: string;
}

/** Sends through @sendgrid/mail; the client is built per send so its timeout is the attempt's remaining budget. */
export class SendGridMailer implements Mailer {
  constructor(private readonly options: SendGridOptions) {}

  async send(email: OutgoingEmail, options: CallOptions): Promise<{ messageId: string | null }> {
    const client = new Client();
    client.setApiKey(this.options.apiKey); // resets baseUrl, so the override comes after
    if (this.options.apiBase) client.setDefaultRequest("baseUrl", this.options.apiBase.replace(/\/+$/, ""));
    // The typings omit `timeout`, which the client hands to axios (as MailService.setTimeout does).
    (client as unknown as { setDefaultRequest(key: string, value: unknown): void }).setDefaultRequest(
      "timeout",
      options.timeoutMs,
    );
    const service = new MailService();
    service.setClient(client);
    const base = {
      to: [...email.to],
      from: email.from,
      customArgs: email.customArgs,
      // The order id rides along in custom_args; no tracking pixels rewrite the email.
      trackingSettings: { clickTracking: { enable: false }, openTracking: { enable: false } },
      // The library's console warning about quotes in template data is not for production logs.
      hideWarnings: true,
    };
    const message = email.templateId
      ? { ...base, templateId: email.templateId, dynamicTemplateData: email.templateData ?? {} }
      : { ...base, subject: email.subject, text: email.text, html: email.html };
    try {
      const [response] = await service.send(message);
      const headers = response.headers as Record<string, string | string[] | undefined>;
      const id = headers["x-message-id"];
      return { messageId: (Array.isArray(id) ? id[0] : id) ?? null };
    } catch (err) {
      throw classifySendError(err);
    }
  }
}

/**
 * The answers that prove SendGrid did not take the email (DESIGN 5): a bad request, a bad
 * or unauthorised key, a message too large, and rate limiting (the only one worth
 * retrying). Everything else, 5xx included, is an unknown outcome: SendGrid's front end
 * can answer 502 or 504 after the email was accepted.
 */
const REFUSED_STATUSES = new Set([400, 401, 403, 413, 429]);

export function classifySendError(err: unknown): Error {
  const e = err as SendGridError;
  const status =
    e.response?.status ?? e.response?.statusCode ?? (typeof e.code === "number" ? e.code : undefined);
  if (typeof status === "number" && REFUSED_STATUSES.has(status)) {
    return new MailRefusedError(`SendGrid answered ${status}`, {
      status,
      transient: status === 429,
      cause: err,
    });
  }
  if (typeof status === "number") {
    return new MailOutcomeUnknownError(
      `SendGrid answered ${status}, which does not say whether it took the email`,
      { cause: err },
    );
  }
  if (typeof e.code === "string" && NOT_SENT_CODES.has(e.code)) {
    return new MailRefusedError(`SendGrid unreachable (${e.code})`, {
      status: null,
      transient: true,
      cause: err,
    });
  }
  return new MailOutcomeUnknownError(`SendGrid call ended without an answer: ${e.message ?? String(err)}`, {
    cause: err,
  });
}
