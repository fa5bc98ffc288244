/** `doctor`'s Stripe checks: the request budget, the key and its mode, the webhook endpoint, the product ids. */
import type Stripe from "stripe";
import { errorMessage } from "../../../common/errors.js";
import { STRIPE_API_VERSION } from "../../../common/stripe-api-version.js";
import { handledEventTypes, isLiveKey } from "../../../fulfiller/classify-event.js";
import { cliBudget } from "../../config.js";
import type { DoctorConfig, Seen } from "./config.js";
import { check, ok, problem, skipped, type CheckResult, type Outcome } from "./results.js";

export async function checkStripe(
  results: CheckResult[],
  c: DoctorConfig,
  apiKey: string | undefined,
  given: Stripe | undefined,
  found: Seen,
): Promise<void> {
  if (!apiKey && !given) {
    results.push({ check: "stripe", ...skipped("Stripe", "STRIPE_API_KEY did not resolve (above)") });
    return;
  }
  const live = apiKey ? isLiveKey(apiKey) : false;
  const stripe =
    given ??
    (await import("../../../fulfiller/adapters/stripe-catalog.js")).createStripeClient({
      apiKey: apiKey!,
      apiBase: c.STRIPE_API_BASE,
      timeoutMs: 10_000,
      maxNetworkRetries: 1,
      budget: cliBudget(c),
    });
  const seen: { endpoints?: Stripe.WebhookEndpoint[] } = {};
  const rate = c.STRIPE_REQUESTS_PER_SECOND;
  results.push({
    check: "stripe budget",
    ...ok(
      `request budget ${rate} requests/s per process (STRIPE_REQUESTS_PER_SECOND): at one read per order, about ${rate} orders/s per fulfiller instance, and the instances' sum must stay under the account's limit (100/s live, 25 in a sandbox)`,
    ),
  });
  await check(
    results,
    "stripe key",
    async () => {
      try {
        seen.endpoints = (await stripe.webhookEndpoints.list({ limit: 100 })).data;
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode;
        if (status === 401 || status === 403)
          return problem(
            `Stripe refuses STRIPE_API_KEY (${status}: ${errorMessage(err)})`,
            status === 401
              ? "store the account's secret or restricted key in STRIPE_API_KEY"
              : "give the restricted key Webhook Endpoints read (and what docs/deploying.md lists)",
          );
        throw err;
      }
      return ok(
        `Stripe accepts the ${live ? "live" : "test"}-mode ${apiKey?.startsWith("rk_") ? "restricted" : "secret"} key`,
      );
    },
    "check STRIPE_API_KEY (a restricted key needs Webhook Endpoints read as well)",
  );
  await check(
    results,
    "stripe webhook",
    () => {
      const endpoints = seen.endpoints;
      if (!endpoints) return skipped("webhook endpoint", "the key was not accepted (above)");
      if (!c.RECEIVER_URL)
        return skipped("webhook endpoint", "RECEIVER_URL is not set (terraform output -raw receiver_url)");
      const url = `${c.RECEIVER_URL.replace(/\/$/, "")}/webhooks/stripe`;
      // Any of the receiver's addresses: the load balancer's or RECEIVER_URL, and both of
      // Cloud Run's default URLs in every region; on either path the receiver serves.
      const bases = [c.RECEIVER_URL, ...found.receiverUrls].map((b) => b.replace(/\/$/, ""));
      const accepted = new Set(
        bases.flatMap((b) => [`${b}/webhooks/stripe`, `${b}/webhook_succesful_payment`]),
      );
      const endpoint =
        endpoints.find((e) => e.url === url) ??
        endpoints.find((e) => accepted.has(e.url.replace(/\/$/, "")) && e.status === "enabled") ??
        endpoints.find((e) => accepted.has(e.url.replace(/\/$/, "")));
      if (!endpoint)
        return problem(
          `no Stripe webhook endpoint for ${url}${bases.length > 1 ? ` (nor the receiver's other URLs: ${bases.slice(1).join(", ")})` : ""}`,
          `stripe webhook_endpoints create --url ${url} --api-version ${STRIPE_API_VERSION} (docs/deploying.md)`,
        );
      const out: Outcome[] = [];
      out.push(
        endpoint.status === "enabled"
          ? ok(`webhook endpoint ${endpoint.id} for ${endpoint.url} is enabled`)
          : problem(
              `webhook endpoint ${endpoint.id} is ${endpoint.status}`,
              "enable it in the Dashboard (Developers > Webhooks)",
            ),
      );
      const enabled = new Set(endpoint.enabled_events);
      const missing = enabled.has("*") ? [] : handledEventTypes().filter((t) => !enabled.has(t));
      out.push(
        missing.length === 0
          ? ok(`it sends every event type the pipeline needs (${handledEventTypes().length})`)
          : problem(
              `it does not send ${missing.join(", ")}`,
              `stripe webhook_endpoints update ${endpoint.id} with every type in terraform output stripe_event_types_to_enable`,
            ),
      );
      out.push(
        endpoint.api_version === STRIPE_API_VERSION
          ? ok(`it uses the pinned API version ${STRIPE_API_VERSION}`)
          : problem(
              `it uses API version ${endpoint.api_version ?? "the account default"}, the code pins ${STRIPE_API_VERSION}`,
              "create a new endpoint with --api-version set (the version of an endpoint cannot be changed), roll its secret in, delete the old one",
            ),
      );
      return out;
    },
    "check the key may read webhook endpoints",
  );
  for (const id of c.FULFILMENT_PRODUCT_IDS) {
    if (!seen.endpoints) {
      results.push({
        check: "product",
        ...skipped(`FULFILMENT_PRODUCT_IDS: ${id}`, "the key was not accepted (above)"),
      });
      continue;
    }
    await check(
      results,
      "product",
      async () => {
        try {
          const product = await stripe.products.retrieve(id);
          if (product.livemode !== live)
            return problem(
              `FULFILMENT_PRODUCT_IDS: ${id} is a ${product.livemode ? "live" : "test"}-mode product and the key is ${live ? "live" : "test"}`,
              "use the product id of the key's mode",
            );
          return product.active
            ? ok(`FULFILMENT_PRODUCT_IDS: ${id} is "${product.name}"`)
            : problem(
                `FULFILMENT_PRODUCT_IDS: ${id} ("${product.name}") is archived`,
                "check the id: new orders cannot buy an archived product",
              );
        } catch (err) {
          if ((err as { statusCode?: number }).statusCode === 404)
            return problem(
              `FULFILMENT_PRODUCT_IDS: ${id} does not exist for this ${live ? "live" : "test"}-mode key: no order would ship`,
              "fix the id (Stripe Dashboard > Product catalogue), redeploy, then npm run cli -- orders retry for the orders it skipped",
            );
          throw err;
        }
      },
      "check the key may read products",
    );
  }
}
