/**
 * The Stripe SDK as this code uses it: pinned, with no retries of its own, every request
 * taking a token from the process's request budget, and its errors mapped to ours
 * (transient or permanent). stripe-catalog.ts makes the calls.
 */
import Stripe from "stripe";
import { PermanentError, TransientError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { BudgetExhaustedError, type RequestBudget } from "../../common/request-budget.js";

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
  /** The process's request budget (STRIPE_REQUESTS_PER_SECOND): every request, retries and pages included, takes a token. */
  budget?: RequestBudget | undefined;
  /** Where a 429 is reported (with Stripe's `Stripe-Rate-Limited-Reason`). */
  logger?: Logger | undefined;
}

type HttpClient = NonNullable<Stripe.StripeConfig["httpClient"]>;

/**
 * Node's HTTP client behind the budget: each request first waits for a token within its
 * own timeout (the attempt's time left), then goes out with what is left of it. A 429
 * slows the budget down and is logged with Stripe's reason; the SDK still reports it as
 * a rate-limit error, which is transient.
 */
export function budgetedHttpClient(budget: RequestBudget, logger?: Logger): HttpClient {
  const inner = Stripe.createNodeHttpClient();
  return {
    getClientName: () => inner.getClientName(),
    async makeRequest(host, port, path, method, headers, requestData, protocol, timeout) {
      const waited = await budget.take(timeout);
      const response = await inner.makeRequest(
        host,
        port,
        path,
        method,
        headers,
        requestData,
        protocol,
        Math.max(1, timeout - waited),
      );
      if (response.getStatusCode() === 429) {
        budget.rateLimited();
        const reason = response.getHeaders()["stripe-rate-limited-reason"];
        logger?.warn(
          {
            stripe_rate_limited_reason: typeof reason === "string" ? reason : null,
            path: path.split("?")[0],
            requests_per_second_now: Number(budget.currentRate().toFixed(3)),
          },
          "Stripe answered 429: slowing this instance's request budget",
        );
      }
      return response;
    },
  };
}

/** The SDK client, pinned to the API version this code is tested against. */
export function createStripeClient(options: StripeClientOptions): Stripe {
  const base = options.apiBase ? new URL(options.apiBase) : undefined;
  return new Stripe(options.apiKey, {
    timeout: options.timeoutMs,
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
    telemetry: false,
    appInfo: { name: "stripe-fulfilment" },
    ...(options.budget ? { httpClient: budgetedHttpClient(options.budget, options.logger) } : {}),
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
  // The budget refused before the request left: the SDK wraps that as a connection error.
  const detail = (err as { detail?: unknown } | null)?.detail;
  if (detail instanceof BudgetExhaustedError)
    return new TransientError(`${what}: ${detail.message}`, { cause: detail, code: "stripe_budget" });
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
