import Stripe from "stripe";

export const TEST_SECRET = "whsec_test_secret_for_unit_tests_only_0001";

/** A real Stripe-Signature header over `payload`, as Stripe computes it. */
export function signPayload(
  payload: string,
  secret = TEST_SECRET,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}
