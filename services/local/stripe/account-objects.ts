/** Account objects as Stripe returns them: a product, a webhook endpoint (for `doctor`). */
import { STRIPE_API_VERSION } from "../../common/stripe-api-version.js";
import productFixture from "./fixtures/product.json" with { type: "json" };
import webhookEndpointFixture from "./fixtures/webhook_endpoint.json" with { type: "json" };
import { clone, now, randomId, type Json } from "./ids.js";

/** A product as `GET /v1/products/{id}` returns it. */
export function buildProduct(id: string, name: string, options: { livemode?: boolean } = {}): Json {
  const product = clone(productFixture) as Json;
  Object.assign(product, {
    id,
    name,
    description: name,
    active: true,
    livemode: !!options.livemode,
    default_price: null,
    metadata: {},
  });
  return product;
}

/** A webhook endpoint as `GET /v1/webhook_endpoints` lists it. */
export function buildWebhookEndpoint(options: {
  url: string;
  enabledEvents: readonly string[];
  apiVersion?: string | null;
  livemode?: boolean;
}): Json {
  const endpoint = clone(webhookEndpointFixture) as Json;
  Object.assign(endpoint, {
    id: randomId("we"),
    url: options.url,
    enabled_events: [...options.enabledEvents],
    api_version: options.apiVersion === undefined ? STRIPE_API_VERSION : options.apiVersion,
    created: now(),
    description: "Stripe fulfilment receiver",
    livemode: !!options.livemode,
    status: "enabled",
  });
  return endpoint;
}
