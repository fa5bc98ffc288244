/** A snapshot webhook event as Stripe sends it, wrapping the object it is about. */
import { STRIPE_API_VERSION } from "../../common/stripe-api-version.js";
import eventFixture from "./fixtures/event.json" with { type: "json" };
import { clone, now, randomId, type Json } from "./ids.js";

export interface EventSpec {
  type: string;
  object: Json;
  id?: string;
  livemode?: boolean;
  account?: string;
  created?: number;
  apiVersion?: string | null;
}

/** A webhook event (snapshot payload) wrapping `object`, shaped like Stripe's. */
export function buildEvent(spec: EventSpec): Json {
  const event = clone(eventFixture) as Json;
  Object.assign(event, {
    id: spec.id ?? randomId("evt"),
    type: spec.type,
    created: spec.created ?? now(),
    livemode: spec.livemode ?? spec.object.livemode === true,
    api_version: spec.apiVersion === undefined ? STRIPE_API_VERSION : spec.apiVersion,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object: spec.object },
  });
  if (spec.account) event.account = spec.account;
  return event;
}
