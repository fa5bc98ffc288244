import {
  buildEvent,
  buildLineItems,
  buildSession,
  buildSubscription,
  type SessionSpec,
} from "../../services/local/stripe/objects.js";
import type { StripeStandIn } from "../../services/local/stripe/stand-in.js";

type Json = Record<string, unknown>;

export const TRIAL_DAYS = 14;

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
      ? buildSubscription(session.subscription as string, {
          metadata: subscriptionMetadata,
          trialEnd:
            session.payment_status === "no_payment_required"
              ? Math.floor(Date.now() / 1000) + TRIAL_DAYS * 86_400
              : null,
        })
      : null;
  stripe.addCheckout({ session, lineItems, subscription });
  const event = (
    type = "checkout.session.completed",
    extra: { livemode?: boolean; account?: string } = {},
  ): Json => buildEvent({ type, object: session, ...extra });
  return { session, sessionId: session.id as string, lineItems, subscription, event };
}
