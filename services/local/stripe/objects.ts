/**
 * Realistic Stripe objects for the local stack, `send-test-event` and the tests, one
 * module per kind of resource, each built on Stripe's own OpenAPI fixtures (./fixtures).
 */
export * from "./ids.js";
export * from "./checkout-objects.js";
export * from "./payment-objects.js";
export * from "./billing-objects.js";
export * from "./event-objects.js";
export * from "./account-objects.js";
export { STRIPE_API_VERSION } from "../../common/stripe-api-version.js";
