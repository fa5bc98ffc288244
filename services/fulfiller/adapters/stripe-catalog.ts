import Stripe from "stripe";
import { PermanentError, TransientError } from "../../common/errors.js";
import type { CallOptions, StripeCatalog } from "../ports.js";
import type { CheckoutSession, LineItem, Subscription } from "../session.js";
import { SUBSCRIPTION_MARKER } from "../fulfil-order.js";

export interface StripeClientOptions {
  apiKey: string;
  /** e.g. http://127.0.0.1:12111: a local stand-in speaking Stripe's wire format. */
  apiBase?: string | undefined;
  timeoutMs: number;
  /**
   * stripe-node retries network failures and timeouts by itself (2 by default), each
   * retry with the whole timeout again. Inside a push delivery Pub/Sub's redelivery is
   * the retry, so the fulfiller sets none; the CLI may allow some.
   */
  maxNetworkRetries?: number;
}

/** The SDK client, pinned to the API version this code is tested against. */
export function createStripeClient(options: StripeClientOptions): Stripe {
  const base = options.apiBase ? new URL(options.apiBase) : undefined;
  return new Stripe(options.apiKey, {
    timeout: options.timeoutMs,
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
    telemetry: false,
    appInfo: { name: "stripe-fulfilment" },
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === "https:" ? 443 : 80),
          protocol: base.protocol === "https:" ? "https" : "http",
        }
      : {}),
  });
}

/** Stripe's errors as ours: 429, 5xx and network trouble are transient; other 4xx are permanent. */
export function mapStripeError(err: unknown, what: string): Error {
  if (err instanceof TransientError || err instanceof PermanentError) return err;
  if (err instanceof Stripe.errors.StripeError) {
    const status = err.statusCode;
    const detail = `${what}: Stripe ${err.type}${status ? ` ${status}` : ""}${err.code ? ` ${err.code}` : ""}: ${err.message}`;
    if (
      err instanceof Stripe.errors.StripeConnectionError ||
      err instanceof Stripe.errors.StripeRateLimitError ||
      err instanceof Stripe.errors.StripeAPIError ||
      status === undefined ||
      status === 429 ||
      status >= 500
    ) {
      return new TransientError(detail, { cause: err, code: "stripe_transient" });
    }
    const hint =
      status === 401
        ? ": check STRIPE_API_KEY (Stripe does not accept it)"
        : status === 403
          ? ": check STRIPE_API_KEY's permissions (a restricted key needs Checkout Sessions and Subscriptions access)"
          : "";
    return new PermanentError(`${detail}${hint}`, { cause: err, code: `stripe_${status}` });
  }
  return new TransientError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** The few Stripe reads and one write fulfilment makes. */
export class StripeApiCatalog implements StripeCatalog {
  constructor(private readonly stripe: Stripe) {}

  async getSession(sessionId: string, options: CallOptions): Promise<CheckoutSession> {
    try {
      const session = await this.stripe.checkout.sessions.retrieve(
        sessionId,
        { expand: ["shipping_cost.shipping_rate"] },
        { timeout: options.timeoutMs },
      );
      return session;
    } catch (err) {
      throw mapStripeError(err, `retrieving session ${sessionId}`);
    }
  }

  async listLineItems(sessionId: string, options: CallOptions): Promise<LineItem[]> {
    try {
      const items: LineItem[] = [];
      const list = this.stripe.checkout.sessions.listLineItems(
        sessionId,
        { limit: 100, expand: ["data.price.product"] },
        { timeout: options.timeoutMs },
      );
      for await (const item of list) items.push(item as unknown as LineItem);
      return items;
    } catch (err) {
      throw mapStripeError(err, `listing line items of ${sessionId}`);
    }
  }

  async getSubscription(subscriptionId: string, options: CallOptions): Promise<Subscription> {
    try {
      const subscription = await this.stripe.subscriptions.retrieve(
        subscriptionId,
        {},
        { timeout: options.timeoutMs },
      );
      return {
        id: subscription.id,
        status: subscription.status,
        trial_end: subscription.trial_end,
        metadata: subscription.metadata ?? {},
      };
    } catch (err) {
      throw mapStripeError(err, `retrieving subscription ${subscriptionId}`);
    }
  }

  async markInitialOrderProcessed(subscriptionId: string, options: CallOptions): Promise<void> {
    try {
      await this.stripe.subscriptions.update(
        subscriptionId,
        { metadata: { [SUBSCRIPTION_MARKER]: "true" } },
        { timeout: options.timeoutMs },
      );
    } catch (err) {
      throw mapStripeError(err, `updating subscription ${subscriptionId}`);
    }
  }
}
