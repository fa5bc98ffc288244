/**
 * The signed dispatch link's token (DESIGN 5b): it names an order and an expiry, and
 * nothing else, so the receiver can serve the warehouse's form without reading any order.
 *
 *   TOKEN = SESSION_ID "." EXPIRES "." SIGNATURE
 *
 * EXPIRES is seconds since the epoch in base 36; SIGNATURE is base64url(HMAC-SHA256(
 * DISPATCH_LINK_SECRET, "dispatch.v1." + SESSION_ID + "." + EXPIRES)), compared in
 * constant time. Session ids are URL-safe already ([A-Za-z0-9_]); the version sits in the
 * signed text, so a future format cannot be confused with this one. No JSON, no padding:
 * the link stays short enough for a warehouse printer's QR code and a phone's address bar.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** How long a link stays valid after the email that carries it (DESIGN 5b). */
export const DISPATCH_LINK_DAYS = 30;

const SESSION_ID = /^cs_(test|live)_[A-Za-z0-9]{10,200}$/;
const EXPIRES = /^[0-9a-z]{1,11}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

export type DispatchTokenCheck =
  | { ok: true; sessionId: string; expiresAt: Date }
  | { ok: false; reason: "malformed" | "bad_signature" | "expired"; expiresAt?: Date };

function sign(secret: string, sessionId: string, expires: string): string {
  return createHmac("sha256", secret).update(`dispatch.v1.${sessionId}.${expires}`).digest("base64url");
}

/** A token for `sessionId` valid until `expiresAt` (whole seconds). */
export function signDispatchToken(secret: string, sessionId: string, expiresAt: Date): string {
  if (!SESSION_ID.test(sessionId)) throw new Error(`not a Checkout Session id: ${sessionId.slice(0, 40)}`);
  const expires = Math.floor(expiresAt.getTime() / 1000).toString(36);
  return `${sessionId}.${expires}.${sign(secret, sessionId, expires)}`;
}

/** The order a token names, if its signature holds and it has not expired at `now`. */
export function verifyDispatchToken(secret: string, token: string, now: Date): DispatchTokenCheck {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "malformed" };
  const [sessionId, expires, signature] = parts as [string, string, string];
  if (!SESSION_ID.test(sessionId) || !EXPIRES.test(expires) || !SIGNATURE.test(signature))
    return { ok: false, reason: "malformed" };
  const expected = Buffer.from(sign(secret, sessionId, expires));
  const given = Buffer.from(signature);
  // Both are 43 characters here (the patterns), so the comparison runs in constant time.
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: "bad_signature" };
  const expiresAt = new Date(parseInt(expires, 36) * 1000);
  if (expiresAt.getTime() <= now.getTime()) return { ok: false, reason: "expired", expiresAt };
  return { ok: true, sessionId, expiresAt };
}

/** The link an order email carries: `${base}/dispatch/${token}`, expiring 30 days after `sentAt`. */
export function dispatchLink(base: string, secret: string, sessionId: string, sentAt: Date): string {
  const expiresAt = new Date(sentAt.getTime() + DISPATCH_LINK_DAYS * 86_400_000);
  return `${base.replace(/\/+$/, "")}/dispatch/${signDispatchToken(secret, sessionId, expiresAt)}`;
}
