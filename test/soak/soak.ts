/**
 * The soak: many distinct orders, each event delivered several times in random order
 * with random delays, through the receiver, the emulator's push subscription and the
 * fulfiller, with the fulfiller killed (SIGKILL) and restarted in the middle, one kill
 * aimed at the window between SendGrid's acceptance and the order update.
 */
import { waitForQuiet } from "../support/wait.js";
import { randomInt } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { startStack, type RunningStack } from "../../services/local/stack.js";
import { LOCAL } from "../../services/local/defaults.js";
import { postSignedEvent } from "../../services/cli/commands/send-test-event.js";
import {
  buildEvent,
  buildLineItems,
  buildSession,
  buildSubscription,
  SCALE_LINE,
  STRAP_LINE,
  type SessionSpec,
} from "../../services/local/stripe/objects.js";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import { DeadLetterSubscription } from "../../services/cli/dead-letters.js";
import { describeDeadLetter } from "../../services/cli/dead-letter-view.js";

type Kind = "shipped" | "not_shipped" | "async" | "subscription" | "unpaid";

interface SoakOrder {
  kind: Kind;
  sessionId: string;
  session: Record<string, unknown>;
  events: Record<string, unknown>[];
}

export interface SoakOptions {
  orders: number;
  copies: number;
  emulators: { pubsubHost: string; firestoreHost: string };
  project: string;
  kill: boolean;
  /** Whether SendGrid's delivery events are played back too (default false). */
  deliveryEvents?: boolean;
  timeoutMs?: number;
  log?: (line: string) => void;
  /** Receives every line the services print. */
  onServiceLine?: (part: string, line: string) => void;
}

export interface SoakReport {
  orders: number;
  by_kind: Record<Kind, number>;
  deliveries_posted: number;
  receiver_2xx: number;
  receiver_retries: number;
  /** Messages on the topic, counted by a subscription of its own (not the receiver's answers). */
  published: number;
  /** Distinct events on the topic. */
  published_events: number;
  /** Events the receiver answered 2xx that the topic does not hold: must be 0. */
  acknowledged_not_published: number;
  fulfilled: number;
  skipped: number;
  awaiting_payment: number;
  needs_review: number;
  failed: number;
  emails_sent: number;
  max_emails_per_order: number;
  lost: number;
  lost_ids: string[];
  doubled: number;
  dlq: number;
  dlq_reasons: Record<string, number>;
  kills: number;
  duration_seconds: number;
}

const KIND_MIX: [Kind, number][] = [
  ["shipped", 0.45],
  ["not_shipped", 0.15],
  ["async", 0.15],
  ["subscription", 0.15],
  ["unpaid", 0.1],
];

function kindFor(i: number, n: number): Kind {
  let acc = 0;
  const x = (i + 0.5) / n;
  for (const [kind, share] of KIND_MIX) {
    acc += share;
    if (x < acc) return kind;
  }
  return "shipped";
}

function makeOrder(kind: Kind): {
  order: SoakOrder;
  lineItems: Record<string, unknown>[];
  subscription: Record<string, unknown> | null;
} {
  const spec: SessionSpec = {
    lines: kind === "not_shipped" ? [STRAP_LINE] : [SCALE_LINE, STRAP_LINE],
    ...(kind === "subscription" ? { mode: "subscription" as const } : {}),
    ...(kind === "async" || kind === "unpaid" ? { paymentStatus: "unpaid" as const } : {}),
  };
  const session = buildSession(spec);
  const events = [buildEvent({ type: "checkout.session.completed", object: structuredClone(session) })];
  if (kind === "async")
    events.push(
      buildEvent({
        type: "checkout.session.async_payment_succeeded",
        object: { ...structuredClone(session), payment_status: "paid" },
      }),
    );
  return {
    order: { kind, sessionId: session.id as string, session, events },
    lineItems: buildLineItems(spec),
    subscription: session.mode === "subscription" ? buildSubscription(session.subscription as string) : null,
  };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Posts like Stripe: retried on anything but 2xx, with backoff. */
async function postLikeStripe(
  url: string,
  event: Record<string, unknown>,
  stats: { ok: number; retries: number; acknowledged: Set<string> },
): Promise<boolean> {
  const payload = JSON.stringify(event);
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      const response = await postSignedEvent(url, payload, LOCAL.webhookSecret, {
        signal: AbortSignal.timeout(10_000),
      });
      await response.arrayBuffer();
      if (response.ok) {
        stats.ok += 1;
        stats.acknowledged.add(event.id as string);
        return true;
      }
    } catch {
      // connection trouble: retry like Stripe
    }
    stats.retries += 1;
    await sleep(200 * 2 ** attempt);
  }
  return false;
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => {});
  const started = Date.now();
  const stack: RunningStack = await startStack({
    emulators: options.emulators,
    project: options.project,
    ports: { receiver: 0, fulfiller: 0, sendgrid: 0, stripe: 0 },
    namePrefix: `soak-${Date.now()}-`,
    // A short lease so orders held by a killed attempt come back quickly.
    fulfillerEnv: { ORDER_LEASE_SECONDS: "6", HANDLER_DEADLINE_MS: "4500" },
    env: { LOG_LEVEL: options.onServiceLine ? "info" : "warn" },
    maxDeliveryAttempts: 100,
    // Delivery events are off by default here: the soak is about Stripe's deliveries, and on the
    // Firestore emulator (pessimistic locks, which a SIGKILLed client's transactions keep for
    // minutes) their extra transactions on the same orders make the kill's lock convoys longer.
    deliveryEvents: options.deliveryEvents ?? false,
    ...(options.onServiceLine ? { onLine: options.onServiceLine } : {}),
  });
  const db = new Firestore({ projectId: options.project });
  const store = new FirestoreOrderStore(db);
  const pubsub = new PubSub({ projectId: options.project });
  try {
    const orders: SoakOrder[] = [];
    for (let i = 0; i < options.orders; i++) {
      const { order, lineItems, subscription } = makeOrder(kindFor(i, options.orders));
      stack.stripe!.addCheckout({ session: order.session, lineItems, subscription });
      orders.push(order);
    }
    const deliveries = shuffle(
      orders.flatMap((o) =>
        o.events.flatMap((e) => Array.from({ length: options.copies }, () => ({ order: o, event: e }))),
      ),
    );
    log(`soak: ${orders.length} orders, ${deliveries.length} deliveries`);
    const stats = { ok: 0, retries: 0, acknowledged: new Set<string>() };
    // A second subscription on the main topic counts what Pub/Sub really holds.
    const tapName = `${stack.names.topic}-tap`;
    await pubsub.topic(stack.names.topic).createSubscription(tapName);
    const url = `${stack.receiverUrl}/webhooks/stripe`;
    let kills = 0;
    let index = 0;
    const killAt = Math.floor(deliveries.length * 0.4);
    const settleAt = Math.floor(deliveries.length * 0.5);
    const worker = async () => {
      while (index < deliveries.length) {
        const i = index++;
        const { order, event } = deliveries[i]!;
        if (options.kill && i === killAt) {
          // Aim the kill at the send window: the next sends are accepted, then answered late.
          stack.sendgrid.addFault({ match: "/v3/mail/send", delayAfterAcceptMs: 2500, times: 3 });
          await sleep(800);
          log("soak: SIGKILL the fulfiller");
          await stack.restartFulfiller("SIGKILL");
          kills += 1;
        }
        if (i === settleAt) {
          // The delayed payments settle: Stripe's session now reads paid.
          for (const o of orders) if (o.kind === "async") o.session.payment_status = "paid";
        }
        if (order.kind === "async" && event.type === "checkout.session.async_payment_succeeded")
          order.session.payment_status = "paid";
        await sleep(randomInt(30));
        await postLikeStripe(url, event, stats);
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    log(`soak: all deliveries posted (${stats.ok} accepted, ${stats.retries} retries)`);

    const expected = (o: SoakOrder) =>
      o.kind === "not_shipped"
        ? ["skipped"]
        : o.kind === "unpaid"
          ? ["awaiting_payment"]
          : ["fulfilled", "needs_review"];
    const deadline = Date.now() + (options.timeoutMs ?? 180_000);
    let statuses = new Map<string, string | undefined>();
    for (;;) {
      statuses = new Map(
        await Promise.all(
          orders.map(async (o) => [o.sessionId, (await store.get(o.sessionId))?.status] as const),
        ),
      );
      const waiting = orders.filter((o) => !expected(o).includes(statuses.get(o.sessionId) ?? "none"));
      if (waiting.length === 0 || Date.now() > deadline) break;
      await sleep(500);
    }
    // Any stray redelivery gets its chance to do harm: count once sends have been quiet for 2 s.
    await waitForQuiet("sends", () => stack.sendgrid.attempts, 2000, 60_000);
    statuses = new Map(
      await Promise.all(
        orders.map(async (o) => [o.sessionId, (await store.get(o.sessionId))?.status] as const),
      ),
    );

    const emailsPer = (id: string) => stack.sendgrid.emailsFor(id).length;
    const lostOrders = orders.filter((o) => {
      const status = statuses.get(o.sessionId);
      if (!expected(o).includes(status ?? "none")) return true;
      return status === "fulfilled" && emailsPer(o.sessionId) !== 1;
    });
    const tap = new DeadLetterSubscription(pubsub, tapName);
    const tapped = (await tap.browse({ limit: 100_000, keepLeased: true })).messages;
    await tap.ack(tapped.map((m) => m.ackId));
    // The topic also carries SendGrid's delivery events (the capture server plays them back).
    const onTopic = tapped.filter((m) => m.attributes.source === "stripe");
    await tap.close();
    const eventsOnTopic = new Set(onTopic.map((m) => m.attributes.event_id));
    const dlq = new DeadLetterSubscription(pubsub, stack.names.dlqSubscription);
    const { messages } = await dlq.browse({ limit: 1000 });
    await dlq.close();
    const reasons: Record<string, number> = {};
    for (const m of messages) {
      const reason = describeDeadLetter(m).reason.replace(/cs_\w+/g, "cs_…");
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    }
    const count = (s: string) => [...statuses.values()].filter((v) => v === s).length;
    return {
      orders: orders.length,
      by_kind: Object.fromEntries(
        KIND_MIX.map(([k]) => [k, orders.filter((o) => o.kind === k).length]),
      ) as Record<Kind, number>,
      deliveries_posted: deliveries.length,
      receiver_2xx: stats.ok,
      receiver_retries: stats.retries,
      published: onTopic.length,
      published_events: eventsOnTopic.size,
      acknowledged_not_published: [...stats.acknowledged].filter((id) => !eventsOnTopic.has(id)).length,
      fulfilled: count("fulfilled"),
      skipped: count("skipped"),
      awaiting_payment: count("awaiting_payment"),
      needs_review: count("needs_review"),
      failed: count("failed"),
      emails_sent: stack.sendgrid.emails.length,
      max_emails_per_order: Math.max(0, ...orders.map((o) => emailsPer(o.sessionId))),
      lost: lostOrders.length,
      lost_ids: lostOrders.map(
        (o) =>
          `${o.sessionId} (${o.kind}: ${statuses.get(o.sessionId) ?? "no order"}, ${emailsPer(o.sessionId)} emails)`,
      ),
      doubled: orders.filter((o) => emailsPer(o.sessionId) > 1).length,
      dlq: messages.length,
      dlq_reasons: reasons,
      kills,
      duration_seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    await stack.stop();
    await db.terminate();
    await pubsub.close();
  }
}

export function renderReport(r: SoakReport): string {
  const rows: [string, string | number][] = [
    [
      "orders (shipped / not shipped / async / subscription / unpaid)",
      `${r.orders} (${r.by_kind.shipped} / ${r.by_kind.not_shipped} / ${r.by_kind.async} / ${r.by_kind.subscription} / ${r.by_kind.unpaid})`,
    ],
    ["deliveries posted (each event x copies, shuffled)", r.deliveries_posted],
    ["receiver 2xx / messages on the topic (its own subscription)", `${r.receiver_2xx} / ${r.published}`],
    [
      "events on the topic / answered 2xx but not on the topic",
      `${r.published_events} / ${r.acknowledged_not_published}`,
    ],
    ["receiver retries (non-2xx or connection errors)", r.receiver_retries],
    ["fulfiller kills (SIGKILL + restart)", r.kills],
    ["orders fulfilled", r.fulfilled],
    ["orders skipped (not shipped)", r.skipped],
    ["orders awaiting_payment (never paid)", r.awaiting_payment],
    ["orders needs_review (kill inside the send window)", r.needs_review],
    ["orders failed", r.failed],
    ["emails sent", r.emails_sent],
    ["max emails for one order", r.max_emails_per_order],
    ["LOST (neither emailed, needs_review nor correctly skipped)", r.lost],
    ["DOUBLED (more than one email)", r.doubled],
    ["dead letters", `${r.dlq}${r.dlq ? ` ${JSON.stringify(r.dlq_reasons)}` : ""}`],
    ["duration", `${r.duration_seconds} s`],
  ];
  return ["| soak | value |", "|---|---|", ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join("\n");
}
