/**
 * A local stand-in for the Stripe API calls this product makes, speaking Stripe's
 * wire format (form-encoded requests, JSON objects and lists, Stripe error bodies),
 * so the real stripe SDK can be pointed at it with host/port/protocol.
 */
import http from "node:http";
import { FaultPlan, type Fault } from "./fault-plan.js";
import { LocalHttpServer, sendJson } from "./local-server.js";

type Json = Record<string, unknown>;

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: URLSearchParams;
}

export class StripeStandIn extends LocalHttpServer {
  readonly sessions = new Map<string, Json>();
  readonly lineItems = new Map<string, Json[]>();
  readonly subscriptions = new Map<string, Json>();
  readonly events: Json[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly faults = new FaultPlan();

  /** `apiKey`: the only key it accepts, as Stripe accepts only the account's keys (default: any test key). */
  constructor(private readonly options: { apiKey?: string } = {}) {
    super();
  }

  addCheckout(objects: {
    session: Json;
    lineItems?: Json[];
    subscription?: Json | null;
    event?: Json | null;
  }): void {
    const id = objects.session.id as string;
    this.sessions.set(id, objects.session);
    this.lineItems.set(id, objects.lineItems ?? []);
    if (objects.subscription) this.subscriptions.set(objects.subscription.id as string, objects.subscription);
    if (objects.event) this.events.push(objects.event);
  }

  addFault(fault: Fault): void {
    this.faults.add(fault);
  }

  /** Requests seen whose "METHOD /path" contains `match`. */
  count(match = ""): number {
    return this.requests.filter((r) => `${r.method} ${r.path}`.includes(match)).length;
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const raw = body.toString("utf8");
    const method = req.method ?? "GET";
    if (url.pathname === "/__local/checkout" && method === "POST") {
      this.addCheckout(JSON.parse(raw) as Parameters<StripeStandIn["addCheckout"]>[0]);
      return send(res, 200, { ok: true });
    }
    this.requests.push({
      method,
      path: url.pathname,
      query: url.searchParams,
      body: new URLSearchParams(raw),
    });
    const authorization = req.headers.authorization ?? "";
    const keyAccepted = this.options.apiKey
      ? authorization === `Bearer ${this.options.apiKey}`
      : /^Bearer (sk|rk)_(test|live)_/.test(authorization);
    if (!keyAccepted) {
      const shown = authorization.replace(/^Bearer /, "").slice(0, 8);
      return send(res, 401, stripeError("invalid_request_error", `Invalid API Key provided: ${shown}***`));
    }
    const fault = this.faults.take(method, url.pathname);
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.hang) return; // never answer
    if (fault?.status) {
      const type =
        fault.status === 429
          ? "rate_limit_error"
          : fault.status >= 500
            ? "api_error"
            : "invalid_request_error";
      return send(res, fault.status, stripeError(type, fault.message ?? `injected ${fault.status}`));
    }
    this.route(method, url, new URLSearchParams(raw), res);
  }

  private route(method: string, url: URL, body: URLSearchParams, res: http.ServerResponse): void {
    let m: RegExpExecArray | null;
    const limit = url.searchParams.get("limit");
    if (limit !== null && !(Number(limit) >= 1 && Number(limit) <= 100)) {
      return send(res, 400, {
        error: {
          type: "invalid_request_error",
          param: "limit",
          message: "This value must be less than or equal to 100 (it currently is '" + limit + "').",
        },
      });
    }
    const expand = [...url.searchParams.entries()].filter(([k]) => k.startsWith("expand")).map(([, v]) => v);
    if (method === "GET" && (m = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(url.pathname))) {
      const session = this.sessions.get(decodeURIComponent(m[1]!));
      if (!session) return send(res, 404, missing("checkout.session", m[1]!));
      return send(
        res,
        200,
        expand.includes("shipping_cost.shipping_rate") ? session : collapseShippingRate(session),
      );
    }
    if (method === "GET" && (m = /^\/v1\/checkout\/sessions\/([^/]+)\/line_items$/.exec(url.pathname))) {
      const id = decodeURIComponent(m[1]!);
      const items = this.lineItems.get(id);
      if (!items) return send(res, 404, missing("checkout.session", id));
      const shaped = items.map((item) =>
        expand.includes("data.price.product") ? item : collapseProduct(item),
      );
      return send(res, 200, page(shaped, url, `/v1/checkout/sessions/${id}/line_items`));
    }
    if (
      (method === "GET" || method === "POST") &&
      (m = /^\/v1\/subscriptions\/([^/]+)$/.exec(url.pathname))
    ) {
      const subscription = this.subscriptions.get(decodeURIComponent(m[1]!));
      if (!subscription) return send(res, 404, missing("subscription", m[1]!));
      if (method === "POST") {
        const metadata = { ...((subscription.metadata as Record<string, string>) ?? {}) };
        for (const [key, value] of body.entries()) {
          const k = /^metadata\[(.+)\]$/.exec(key);
          if (k?.[1]) metadata[k[1]] = value;
        }
        subscription.metadata = metadata;
      }
      return send(res, 200, subscription);
    }
    if (method === "GET" && url.pathname === "/v1/events") {
      const types = [...url.searchParams.entries()]
        .filter(([k]) => k === "type" || k.startsWith("types"))
        .map(([, v]) => v);
      const gte = Number(url.searchParams.get("created[gte]") ?? -Infinity);
      const lte = Number(url.searchParams.get("created[lte]") ?? Infinity);
      const selected = this.events
        .filter((e) => (types.length ? types.includes(e.type as string) : true))
        .filter((e) => (e.created as number) >= gte && (e.created as number) <= lte)
        .sort((a, b) => (b.created as number) - (a.created as number));
      return send(res, 200, page(selected, url, "/v1/events"));
    }
    send(
      res,
      404,
      stripeError("invalid_request_error", `Unrecognized request URL (${method}: ${url.pathname})`),
    );
  }
}

function page(items: Json[], url: URL, path: string): Json {
  const limit = Math.min(Number(url.searchParams.get("limit") ?? 10), 100);
  const after = url.searchParams.get("starting_after");
  const start = after ? items.findIndex((i) => i.id === after) + 1 : 0;
  const data = items.slice(start, start + limit);
  return { object: "list", data, has_more: start + limit < items.length, url: path };
}

/** Stripe sends an id where an object is not expanded. */
function collapseShippingRate(session: Json): Json {
  const cost = session.shipping_cost as Json | null | undefined;
  const rate = cost?.shipping_rate as Json | string | null | undefined;
  if (!cost || !rate || typeof rate !== "object") return session;
  return { ...session, shipping_cost: { ...cost, shipping_rate: rate.id } };
}

function collapseProduct(item: Json): Json {
  const price = item.price as Json | undefined;
  const product = price?.product as Json | string | undefined;
  if (!price || typeof product !== "object") return item;
  return { ...item, price: { ...price, product: product.id } };
}

function stripeError(type: string, message: string): Json {
  return { error: { type, message } };
}

function missing(kind: string, id: string): Json {
  return {
    error: {
      type: "invalid_request_error",
      code: "resource_missing",
      param: "id",
      message: `No such ${kind}: '${id}'`,
    },
  };
}

function send(res: http.ServerResponse, status: number, body: Json): void {
  sendJson(res, status, body, { "request-id": `req_local${Date.now()}` });
}
