/**
 * The short reference people use for an order: the last 8 characters of its Checkout
 * Session id. The emails' subjects and bodies, the local outbox's file names and the
 * warehouse's dispatch page share it; the full id stands beside it where it is shown.
 */
export function orderReference(sessionId: string): string {
  return sessionId.slice(-8);
}
