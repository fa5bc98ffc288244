/**
 * Thin events (`v2.core.event`) as a thin event destination receives them, built on
 * ./fixtures/thin_event.json (stripe-node's published shape): the same
 * change as a snapshot event, named by `related_object` instead of copied.
 */
import { randomUUID } from "node:crypto";
import thinEventFixture from "./fixtures/thin_event.json" with { type: "json" };
import { now, randomId, type Json } from "./ids.js";

/** Where the v1 API serves each kind of object a handled thin event names. */
const RESOURCE_PATHS: Record<string, string> = {
  "checkout.session": "/v1/checkout/sessions",
  charge: "/v1/charges",
  dispute: "/v1/disputes",
  invoice: "/v1/invoices",
  subscription: "/v1/subscriptions",
  customer: "/v1/customers",
};

export interface ThinEventSpec {
  /** The snapshot name (`checkout.session.completed`); the thin event's type is `v1.` + it. */
  type: string;
  /** The object the snapshot event would carry: its `id` and `object` name the related object. */
  object: Json;
  id?: string;
  livemode?: boolean;
  /** A connected account's id (Stripe Connect). */
  context?: string;
  /** The snapshot twin's id, when a snapshot destination got the same change. */
  snapshotEvent?: string | null;
  /** Seconds since the epoch (default now). */
  created?: number;
}

export function buildThinEvent(spec: ThinEventSpec): Json {
  const event = structuredClone(thinEventFixture) as Json;
  const id = spec.object.id as string;
  const type = spec.object.object as string;
  const base = RESOURCE_PATHS[type] ?? `/v1/${type.replace(/\./g, "/")}s`;
  Object.assign(event, {
    id: spec.id ?? randomId(spec.livemode ? "evt" : "evt_test", 48),
    type: `v1.${spec.type}`,
    livemode: spec.livemode ?? spec.object.livemode === true,
    created: new Date((spec.created ?? now()) * 1000).toISOString(),
    related_object: { id, type, url: `${base}/${id}` },
    reason: { type: "request", request: { id: randomId("req", 14), idempotency_key: randomUUID() } },
  });
  if (spec.snapshotEvent === undefined || spec.snapshotEvent === null) delete event.snapshot_event;
  else event.snapshot_event = spec.snapshotEvent;
  if (spec.context) event.context = spec.context;
  return event;
}

/** The thin twin of a snapshot event (same change, same object, its own id). */
export function thinTwinOf(snapshot: Json, options: { withSnapshotId?: boolean } = {}): Json {
  const object = (snapshot.data as Json).object as Json;
  return buildThinEvent({
    type: snapshot.type as string,
    object,
    livemode: snapshot.livemode === true,
    created: snapshot.created as number,
    snapshotEvent: options.withSnapshotId === false ? null : (snapshot.id as string),
    ...(typeof snapshot.account === "string" ? { context: snapshot.account } : {}),
  });
}
