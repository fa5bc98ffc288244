/**
 * The fulfiller at Stripe's rate limit (DESIGN 10): a burst of orders through the local
 * stack (receiver, the emulator's push subscription with production's 10 delivery
 * attempts, one fulfiller) while the Stripe stand-in serves R requests/s account-wide and
 * answers 429 beyond. The figure is orders per second against the ceiling of R orders/s
 * that one read per order allows. In alternating rounds beside it, the same sale with the
 * request budget lifted (STRIPE_REQUESTS_PER_SECOND far above R): what the budget saves.
 */
import { PubSub } from "@google-cloud/pubsub";
import { startStack } from "../../services/local/stack.js";
import { postSignedEvent } from "../../services/cli/commands/send-test-event.js";
import { DeadLetterSubscription } from "../../services/cli/dead-letters.js";
import { LOCAL } from "../../services/local/defaults.js";
import { round, summarize, type RatioSummary } from "../ratios.js";

export interface SaleRound {
  budget: "on" | "off";
  round: number;
  orders: number;
  /** Stripe's retries of some orders, posted in the same burst. */
  retries: number;
  seconds: number;
  orders_per_second: number;
  /** Orders per second over R, the ceiling at one read per order. */
  vs_ceiling: number;
  /** Requests Stripe served, per order. */
  stripe_requests_per_order: number;
  /** Requests sent, 429s included, per order. */
  stripe_attempts_per_order: number;
  /** Share of all Stripe requests answered 429. */
  share_429: number;
  dead_letters: number;
  emailed_once: number;
}

/** Each figure's median and spread over the rounds. */
export type SaleSummary = RatioSummary;

export interface FlashSale {
  rate: number;
  orders: number;
  rounds: SaleRound[];
  /** Each over the budgeted rounds. */
  vs_ceiling: SaleSummary;
  stripe_requests_per_order: SaleSummary;
  share_429: SaleSummary;
  dead_letters: number;
  /** The same sale without the budget, for comparison. */
  unbudgeted: { vs_ceiling: SaleSummary; share_429: SaleSummary; stripe_requests_per_order: SaleSummary };
}

function summarise(values: number[]): SaleSummary {
  return summarize(values) ?? { median: NaN, min: NaN, max: NaN, rounds: [] };
}

async function oneSale(
  emulators: { pubsub: string; firestore: string },
  options: { rate: number; orders: number; budget: "on" | "off"; round: number },
): Promise<SaleRound> {
  const project = "bench-project";
  const retries = Math.round(options.orders / 4);
  const stack = await startStack({
    emulators: { pubsubHost: emulators.pubsub, firestoreHost: emulators.firestore },
    project,
    ports: { receiver: 0, fulfiller: 0, sendgrid: 0, stripe: 0 },
    namePrefix: `sale-${Date.now()}-`,
    env: { LOG_LEVEL: "warn" },
    maxDeliveryAttempts: 10,
    stripeRateLimit: options.rate,
    fulfillerEnv: { STRIPE_REQUESTS_PER_SECOND: String(options.budget === "on" ? options.rate : 10_000) },
  });
  try {
    const sent = await stack.sendOrders({ count: options.orders, duplicates: 0 });
    const payloads = sent.map((s) => s.payload!);
    const url = `${stack.receiverUrl}/webhooks/stripe`;
    const started = performance.now();
    await Promise.all(
      [...payloads, ...payloads.slice(0, retries)].map((p) => postSignedEvent(url, p, LOCAL.webhookSecret)),
    );
    const pending = new Set(sent.map((s) => s.session_id));
    let lastAt = started;
    const deadline = Date.now() + 180_000;
    while (pending.size && Date.now() < deadline) {
      for (const email of stack.sendgrid.emails) {
        const id = email.customArgs.order_id;
        if (id && pending.delete(id)) lastAt = performance.now();
      }
      // Dead-lettered orders never email: stop waiting once nothing moves for long.
      if (pending.size && performance.now() - lastAt > 30_000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (lastAt - started) / 1000;
    const emailed = options.orders - pending.size;
    // Let stray redeliveries land before counting what went out once.
    await new Promise((r) => setTimeout(r, 1500));
    const once = sent.filter((s) => stack.sendgrid.emailsFor(s.session_id).length === 1).length;
    const pubsub = new PubSub({ projectId: project, apiEndpoint: emulators.pubsub, emulatorMode: true });
    const dlq = new DeadLetterSubscription(pubsub, stack.names.dlqSubscription);
    const { messages } = await dlq.browse({ limit: 500 });
    await dlq.close();
    await pubsub.close();
    const { served, limited } = stack.stripe!.rate;
    return {
      budget: options.budget,
      round: options.round,
      orders: options.orders,
      retries,
      seconds: round(seconds, 2),
      orders_per_second: round(emailed / seconds, 2),
      vs_ceiling: round(emailed / seconds / options.rate, 3),
      stripe_requests_per_order: round(served / options.orders, 3),
      stripe_attempts_per_order: round((served + limited) / options.orders, 3),
      share_429: round(limited / Math.max(1, served + limited), 4),
      dead_letters: messages.length,
      emailed_once: once,
    };
  } finally {
    await stack.stop();
  }
}

/** Budgeted and unbudgeted sales in alternating rounds, each on a fresh stack. */
export async function measureFlashSale(
  emulators: { pubsub: string; firestore: string },
  plan: { rounds: number; orders: number; rate: number },
  log: (line: string) => void = () => {},
): Promise<FlashSale> {
  const rounds: SaleRound[] = [];
  for (let r = 1; r <= plan.rounds; r++) {
    // Alternating which goes first, so that a slow stretch falls on both alike.
    const order = r % 2 ? (["on", "off"] as const) : (["off", "on"] as const);
    for (const budget of order) {
      const one = await oneSale(emulators, { ...plan, budget, round: r });
      log(
        `  sale round ${r}, budget ${budget}: ${one.orders_per_second} orders/s (${one.vs_ceiling} of the ceiling), ` +
          `${one.stripe_requests_per_order} requests/order served (${one.stripe_attempts_per_order} sent), ${(one.share_429 * 100).toFixed(1)}% 429s, ${one.dead_letters} dead letters`,
      );
      rounds.push(one);
    }
  }
  const of = (budget: "on" | "off", key: "vs_ceiling" | "share_429" | "stripe_requests_per_order") =>
    summarise(rounds.filter((r) => r.budget === budget).map((r) => r[key]));
  return {
    rate: plan.rate,
    orders: plan.orders,
    rounds,
    vs_ceiling: of("on", "vs_ceiling"),
    stripe_requests_per_order: of("on", "stripe_requests_per_order"),
    share_429: of("on", "share_429"),
    dead_letters: rounds.filter((r) => r.budget === "on").reduce((n, r) => n + r.dead_letters, 0),
    unbudgeted: {
      vs_ceiling: of("off", "vs_ceiling"),
      share_429: of("off", "share_429"),
      stripe_requests_per_order: of("off", "stripe_requests_per_order"),
    },
  };
}

/** Runs the sale alone: `npm run bench:sale` (3 rounds at 10 requests/s, 80 orders). */
if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.METADATA_SERVER_DETECTION ??= "none";
  const { startPubSubEmulator, startFirestoreEmulator } = await import("../../services/local/emulators.js");
  const { freePort } = await import("../../services/local/ports.js");
  const [ps, fs] = await Promise.all([
    startPubSubEmulator({ port: await freePort(), project: "bench-project" }),
    startFirestoreEmulator({ port: await freePort() }),
  ]);
  try {
    const result = await measureFlashSale(
      { pubsub: ps.host, firestore: fs.host },
      { rounds: 3, orders: Number(process.env.SALE_ORDERS ?? 80), rate: Number(process.env.SALE_RATE ?? 10) },
      (line) => process.stderr.write(`${line}\n`),
    );
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await Promise.all([ps.stop(), fs.stop()]);
  }
}
