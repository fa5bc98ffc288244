/**
 * The Stripe API version this code is written and tested against: the stripe-node
 * package's own pin (a unit test holds them equal, and Terraform's output beside them).
 * Register the webhook endpoint with it. A literal, so that `doctor` and the stand-in
 * know it without loading the SDK.
 */
export const STRIPE_API_VERSION = "2026-10-28.endive";
