/** Stripe's wire format for the stand-in: lists, errors, form-encoded objects, unexpanded ids. */
import type { Json } from "./ids.js";

/** What a route answers: a status and a JSON body. */
export interface Answer {
  status: number;
  body: Json;
}

export const answer = (status: number, body: Json): Answer => ({ status, body });

/** `prefix[a]=1&prefix[b][c]=2` as {a: "1", b: {c: "2"}}: Stripe's form encoding of a nested object. */
export function formObject(body: URLSearchParams, prefix: string): Json | null {
  let out: Json | null = null;
  for (const [key, value] of body.entries()) {
    if (!key.startsWith(`${prefix}[`)) continue;
    const path = [...key.slice(prefix.length).matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]!);
    out ??= {};
    let node = out;
    for (const part of path.slice(0, -1)) node = (node[part] ??= {}) as Json;
    node[path.at(-1)!] = value;
  }
  return out;
}

/** A v1 list page: `limit` (default 10) after `starting_after`, with `has_more`. */
export function page(items: Json[], url: URL, path: string): Json {
  const limit = Math.min(Number(url.searchParams.get("limit") ?? 10), 100);
  const after = url.searchParams.get("starting_after");
  const start = after ? items.findIndex((i) => i.id === after) + 1 : 0;
  const data = items.slice(start, start + limit);
  return { object: "list", data, has_more: start + limit < items.length, url: path };
}

/** A list of everything, as an expanded or includable field carries it. */
export function list(data: Json[], url: string): Json {
  return { object: "list", data, has_more: false, url };
}

/** Stripe sends an id where an object is not expanded. */
export function collapseShippingRate(session: Json): Json {
  const cost = session.shipping_cost as Json | null | undefined;
  const rate = cost?.shipping_rate as Json | string | null | undefined;
  if (!cost || !rate || typeof rate !== "object") return session;
  return { ...session, shipping_cost: { ...cost, shipping_rate: rate.id } };
}

export function collapseProduct(item: Json): Json {
  const price = item.price as Json | undefined;
  const product = price?.product as Json | string | undefined;
  if (!price || typeof product !== "object") return item;
  return { ...item, price: { ...price, product: product.id } };
}

export function stripeError(type: string, message: string): Json {
  return { error: { type, message } };
}

/** The 404 Stripe answers for an id it does not know. */
export function missing(kind: string, id: string): Answer {
  return answer(404, {
    error: {
      type: "invalid_request_error",
      code: "resource_missing",
      param: "id",
      message: `No such ${kind}: '${id}'`,
    },
  });
}

/** The 429 of an account over its rate limit (sent with `Stripe-Rate-Limited-Reason`). */
export const RATE_LIMITED: Json = {
  error: {
    type: "invalid_request_error",
    code: "rate_limit",
    message:
      "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
  },
};

/** The error type Stripe gives an injected fault's status. */
export function faultError(status: number, message: string): Json {
  const type = status === 429 ? "rate_limit_error" : status >= 500 ? "api_error" : "invalid_request_error";
  return stripeError(type, message);
}
