import {
  buildEvent,
  buildLineItems,
  buildSession,
  buildSubscription,
  type SessionSpec,
} from "../../services/local/stripe-objects.js";
import type { StripeStandIn } from "../../services/local/stripe-server.js";

type Json = Record<string, unknown>;

/** A session (with line items and any subscription) registered in the Stripe stand-in, and events for it. */
export function createCheckout(
  stripe: StripeStandIn,
  spec: SessionSpec = {},
  subscriptionMetadata: Record<string, string> = {},
) {
  const session = buildSession(spec);
  const lineItems = buildLineItems({ ...spec, livemode: session.livemode as boolean });
  const subscription =
    session.mode === "subscription"
      ? buildSubscription(session.subscription as string, { metadata: subscriptionMetadata })
      : null;
  stripe.addCheckout({ session, lineItems, subscription });
  const event = (
    type = "checkout.session.completed",
    extra: { livemode?: boolean; account?: string } = {},
  ): Json => buildEvent({ type, object: session, ...extra });
  return { session, sessionId: session.id as string, lineItems, subscription, event };
}
