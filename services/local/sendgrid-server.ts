/**
 * A local SendGrid v3 Mail Send stand-in: checks the bearer key and the request's
 * required fields as SendGrid does, answers 202 with X-Message-Id, and keeps every
 * accepted email (in memory, and as .eml + .json files in an outbox folder if given).
 */
import http from "node:http";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { FaultPlan, type Fault } from "./fault-plan.js";
import { LocalHttpServer, sendJson } from "./local-server.js";
import { LOCAL } from "./defaults.js";
import type { KeyObject } from "node:crypto";
import { buildSendGridEvent, signSendGridBatch } from "./sendgrid-events.js";

type Json = Record<string, unknown>;

export interface CapturedEmail {
  messageId: string;
  /** When the stand-in accepted it (ms since the epoch). */
  receivedAt: number;
  request: Json;
  to: string[];
  subject: string;
  text: string;
  html: string;
  customArgs: Record<string, string>;
  file?: string;
}

export interface SendGridStandInOptions {
  /** The only key it accepts, as SendGrid accepts only the account's keys (default the local stack's). */
  apiKey?: string;
  outboxDir?: string;
  onEmail?: (email: CapturedEmail) => void;
}

export class SendGridStandIn extends LocalHttpServer {
  readonly emails: CapturedEmail[] = [];
  /** What `GET /v3/scopes` says the key may do (a key without mail.send cannot send). */
  scopes: string[] = ["mail.send", "user.profile.read"];
  /**
   * Where to post signed delivery events after each accepted email, as SendGrid's Event
   * Webhook does: `processed`, then `delivered`, or `bounce` for a recipient whose
   * address contains "bounce". Unset: no events.
   */
  deliveryEvents: { url: string; privateKey: KeyObject } | undefined;
  /** Delivery-event posts and their answers, for tests. */
  readonly eventPosts: { status: number | string; events: number }[] = [];
  readonly faults = new FaultPlan();
  /** Every POST /v3/mail/send seen, accepted or not. */
  attempts = 0;
  /** The problems of each request refused as invalid (400). */
  readonly rejected: string[][] = [];

  constructor(private readonly options: SendGridStandInOptions = {}) {
    super();
  }

  addFault(fault: Fault): void {
    this.faults.add(fault);
  }

  /** Accepted emails whose custom_args name this order. */
  emailsFor(orderId: string): CapturedEmail[] {
    return this.emails.filter((e) => e.customArgs.order_id === orderId);
  }

  protected async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    rawBody: Buffer,
  ): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    // The key's permissions, as `doctor` asks SendGrid for them.
    if (req.method === "GET" && url.pathname === "/v3/scopes") {
      if (req.headers.authorization !== `Bearer ${this.options.apiKey ?? LOCAL.sendgridApiKey}`)
        return reply(res, 401, {
          errors: [
            { message: "The provided authorization grant is invalid, expired, or revoked", field: null },
          ],
        });
      return reply(res, 200, { scopes: this.scopes });
    }
    if (req.method !== "POST" || url.pathname !== "/v3/mail/send") {
      return reply(res, 404, { errors: [{ message: "Not found", field: null }] });
    }
    this.attempts += 1;
    if (req.headers.authorization !== `Bearer ${this.options.apiKey ?? LOCAL.sendgridApiKey}`) {
      return reply(res, 401, {
        errors: [
          { message: "The provided authorization grant is invalid, expired, or revoked", field: null },
        ],
      });
    }
    // Validated before any fault: a request a fault test sends is also proven valid.
    let body: Json;
    try {
      body = JSON.parse(rawBody.toString("utf8")) as Json;
    } catch {
      return reply(res, 400, { errors: [{ message: "Bad Request", field: null }] });
    }
    const problems = validate(body);
    if (problems.length) {
      this.rejected.push(problems);
      return reply(res, 400, { errors: problems.map((message) => ({ message, field: null })) });
    }
    const fault = this.faults.take("POST", url.pathname);
    if (fault?.delayMs && !fault.delayAfterAcceptMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.hang) return;
    if (fault?.status)
      return reply(res, fault.status, { errors: [{ message: `injected ${fault.status}`, field: null }] });

    const messageId = randomBytes(11).toString("base64url");
    const email = toCaptured(messageId, body);
    this.emails.push(email);
    if (this.options.outboxDir) email.file = await writeOutbox(this.options.outboxDir, email);
    this.options.onEmail?.(email);
    if (fault?.delayAfterAcceptMs) await new Promise((r) => setTimeout(r, fault.delayAfterAcceptMs));
    if (fault?.acceptThenReset) {
      req.socket.destroy(); // accepted, but the client never hears so
      return;
    }
    if (fault?.acceptThenStatus)
      // accepted, then an error from the front end
      return reply(res, fault.acceptThenStatus, { errors: [{ message: "Bad Gateway", field: null }] });
    res.writeHead(202, { "x-message-id": messageId });
    res.end();
    if (this.deliveryEvents) void this.postDeliveryEvents(email, this.deliveryEvents);
  }

  private async postDeliveryEvents(
    email: CapturedEmail,
    target: { url: string; privateKey: KeyObject },
  ): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    const outcome = email.to.some((to) => to.includes("bounce")) ? "bounce" : "delivered";
    for (const [event, timestamp] of [
      ["processed", now],
      [outcome, now + 1],
    ] as const) {
      const payload = JSON.stringify(
        email.to.map((to) =>
          buildSendGridEvent({
            event,
            email: to,
            messageId: email.messageId,
            customArgs: email.customArgs,
            timestamp,
          }),
        ),
      );
      try {
        const response = await fetch(target.url, {
          method: "POST",
          headers: { "content-type": "application/json", ...signSendGridBatch(payload, target.privateKey) },
          body: payload,
          signal: AbortSignal.timeout(5000),
        });
        await response.arrayBuffer();
        this.eventPosts.push({ status: response.status, events: email.to.length });
      } catch (err) {
        this.eventPosts.push({ status: (err as Error).name, events: email.to.length });
      }
    }
  }
}

/** What SendGrid's v3 Mail Send refuses with 400, in its own words. */
function validate(body: Json): string[] {
  const problems: string[] = [];
  const personalizations = body.personalizations as Json[] | undefined;
  if (!Array.isArray(personalizations) || personalizations.length === 0)
    problems.push("The personalizations field is required.");
  for (const p of personalizations ?? []) {
    const to = (p.to as Json[] | undefined) ?? [];
    if (to.length === 0)
      problems.push(
        "The to array is required for all personalization objects, and must have at least one email object with a valid email address.",
      );
    const addresses = [
      ...to,
      ...((p.cc as Json[] | undefined) ?? []),
      ...((p.bcc as Json[] | undefined) ?? []),
    ].map((r) => (typeof r.email === "string" ? r.email.toLowerCase() : ""));
    if (new Set(addresses).size !== addresses.length)
      problems.push(
        "Each email address in the personalization block should be unique between to, cc, and bcc.",
      );
  }
  const content = body.content as { type?: string; value?: string }[] | undefined;
  if (Array.isArray(content) && content.some((c) => !c.value))
    problems.push("The content value must be a string at least one character in length.");
  if (!(body.from as Json | undefined)?.email)
    problems.push("The from object must be provided for every email send.");
  const hasContent = Array.isArray(body.content) && body.content.length > 0;
  if (!hasContent && !body.template_id)
    problems.push("Unless a valid template_id is provided, the content parameter is required.");
  if (!body.template_id && !body.subject && !personalizations?.some((p) => p.subject))
    problems.push("The subject is required.");
  if (typeof body.subject === "string" && /[\r\n]/.test(body.subject))
    problems.push("The subject may not contain line breaks.");
  return problems;
}

function toCaptured(messageId: string, body: Json): CapturedEmail {
  const personalizations = (body.personalizations as Json[]) ?? [];
  const to = personalizations.flatMap((p) => ((p.to as Json[]) ?? []).map((t) => String(t.email)));
  const content = (body.content as { type: string; value: string }[] | undefined) ?? [];
  return {
    messageId,
    receivedAt: Date.now(),
    request: body,
    to,
    subject: typeof body.subject === "string" ? body.subject : "",
    text: content.find((c) => c.type === "text/plain")?.value ?? "",
    html: content.find((c) => c.type === "text/html")?.value ?? "",
    customArgs: (body.custom_args as Record<string, string>) ?? {},
  };
}

async function writeOutbox(dir: string, email: CapturedEmail): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = new Date(email.receivedAt).toISOString().replace(/[:.]/g, "-");
  // The order's short reference, as in the email's subject and body.
  const reference = email.customArgs.order_ref ?? email.customArgs.order_id?.slice(-8) ?? email.messageId;
  const base = path.join(
    dir,
    `${stamp}-${reference}${email.customArgs.email_kind === "stop_notice" ? "-stop" : ""}`,
  );
  const boundary = `b_${email.messageId}`;
  const from = ((email.request.from as Json | undefined)?.email as string | undefined) ?? "";
  const eml = [
    // SendGrid adds a Date header to what it delivers; the capture does the same.
    `Date: ${new Date(email.receivedAt).toUTCString().replace("GMT", "+0000")}`,
    `From: ${from}`,
    `To: ${email.to.join(", ")}`,
    `Subject: ${email.subject}`,
    `Message-ID: <${email.messageId}@sendgrid.local>`,
    "MIME-Version: 1.0",
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    "",
    `--${boundary}`,
    "Content-Type: text/plain; charset=utf-8",
    "",
    email.text,
    `--${boundary}`,
    "Content-Type: text/html; charset=utf-8",
    "",
    email.html,
    `--${boundary}--`,
    "",
  ].join("\r\n");
  await writeFile(`${base}.eml`, eml);
  await writeFile(`${base}.json`, JSON.stringify(email.request, null, 2));
  return `${base}.eml`;
}

function reply(res: http.ServerResponse, status: number, body: Json): void {
  sendJson(res, status, body);
}
