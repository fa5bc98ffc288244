/**
 * A model of an order's life, checked against the real fulfiller (fc.commands with
 * asyncModelRun): random sequences of deliveries of every event type (duplicates,
 * reordering, replays as reconcile and the dead-letter replay make them), SendGrid
 * batches (ours, forged, naming only the order, naming another attempt), Stripe refunds
 * and disputes, operator commands (retry, resolve --sent|--resend, resend --undelivered,
 * the owed stop notice), lease expiry, and faults: Stripe 429/5xx, SendGrid 429/400/5xx
 * before and after it took the email, a reset connection, Firestore unavailable or a
 * write whose answer is lost, and a crash after any write or right after a send.
 *
 * The fence, the state machine, the Stripe and SendGrid adapters and SDKs are the real
 * code; Stripe and SendGrid are the local stand-ins that speak their wire formats; the
 * store is the in-memory one (the port's transaction semantics) or Firestore on the
 * emulator. After every command the invariants below are checked against what SendGrid
 * really took (the stand-in's captured emails), not against the fulfiller's records.
 */
import { expect } from "chai";
import fc from "fast-check";
import type { Firestore } from "@google-cloud/firestore";
import { Fulfiller, type FulfilmentSettings } from "../../services/fulfiller/fulfil-order.js";
import { parsePushEnvelope } from "../../services/fulfiller/push/push-envelope.js";
import { shipmentKey } from "../../services/fulfiller/delivery/record-dispatch.js";
import { dispatchMessage } from "../../services/receiver/dispatch-page.js";
import type { DispatchConfirmed } from "../../services/common/event.js";
import { createStripeClient, StripeApiCatalog } from "../../services/fulfiller/adapters/stripe-catalog.js";
import { SendGridMailer } from "../../services/fulfiller/adapters/sendgrid-mailer.js";
import { FirestoreOrderStore } from "../../services/fulfiller/adapters/firestore-order-store.js";
import {
  confirmSentChange,
  emailInDoubt,
  OperatorRefusedError,
  remindReview,
} from "../../services/fulfiller/operator/review.js";
import type { OrderRecord } from "../../services/fulfiller/claims/order-state.js";
import type { Mailer, OrderStore } from "../../services/fulfiller/ports.js";
import type { StripeStandIn } from "../../services/local/stripe/stand-in.js";
import type { SendGridStandIn, CapturedEmail } from "../../services/local/sendgrid-server.js";
import {
  buildEvent,
  buildLineItems,
  buildSession,
  SCALE_LINE,
  SCALE_PRODUCT_ID,
} from "../../services/local/stripe/objects.js";
import { buildSendGridEvent } from "../../services/local/sendgrid-events.js";
import { FakePublisher } from "../support/fake-publisher.js";
import { LogCapture } from "../support/log-capture.js";
import { MemoryOrderStore } from "../support/memory-order-store.js";
import { CrashedError, FaultyStore, type StoreFault } from "../support/faulty-store.js";

export const STRIPE_KEY = "sk_test_model_key_0001";
const ORDERS_PER_SEQUENCE = 1;

type Json = Record<string, unknown>;

/** A fault armed for one command. "unknown" faults may leave a send's outcome in doubt. */
type Fault =
  | { on: "none" }
  | { on: "stripe"; status: 429 | 500; match: string }
  | { on: "sendgrid"; status: 400 | 429 | 500 }
  | { on: "sendgrid"; acceptThen: 502 | "reset" }
  | { on: "store"; fault: StoreFault }
  | { on: "crash_after_send" };

const isUnknownClass = (f: Fault): boolean =>
  (f.on === "sendgrid" && ("acceptThen" in f || f.status === 500)) ||
  f.on === "crash_after_send" ||
  (f.on === "store" && f.fault.kind !== "unavailable");

/** Ground truth about one order, kept by the model (never read from the fulfiller). */
interface OrderTruth {
  sessionId: string;
  session: Json;
  /** Envelopes delivered so far: Pub/Sub's redeliveries, reconcile and the DLQ replay send these again. */
  envelopes: Json[];
  /** The command at which Stripe first had a full refund or a dispute. */
  stoppedAt: number | null;
  /** Order emails (message ids) for which SendGrid really reported a bounce or a drop. */
  bounced: Set<string>;
  noticeBounced: boolean;
  /** A crash ate the needs_review alert: the next scheduled reconcile must repeat it. */
  alertOwed: boolean;
  /** Faults that can leave an outcome unknown, armed while a command touched this order. */
  unknownFaults: number;
  /** Emails SendGrid held before the current command (for the refund invariant). */
  emailsBefore: number;
  /** Tracking numbers the warehouse confirmed (DESIGN 5b). */
  numbers: Set<string>;
}

export interface ModelWorld {
  stripe: StripeStandIn;
  sendgrid: SendGridStandIn;
  /** With Firestore on the emulator (the shorter run); else the in-memory store. */
  db?: Firestore;
}

const SETTINGS: FulfilmentSettings = {
  liveKey: false,
  fulfilTrials: true,
  productIds: [SCALE_PRODUCT_ID],
  emailTo: ["fulfilment@example.com"],
  emailFrom: "orders@example.com",
  leaseMs: 10_000,
  deadlineMs: 4_000,
  deadLetterSource: "model",
  // Every order email carries its dispatch link, as in production (DESIGN 5b).
  dispatch: { secret: "model-dispatch-link-secret-0123456789", baseUrl: "https://hooks.example.com" },
};

/** The system under test for one sequence: the real fulfiller, rebuilt after a crash. */
class Real {
  offsetMs = 0;
  step = 0;
  readonly clock = () => Date.now() + this.offsetMs;
  readonly store: FaultyStore;
  readonly logs = new LogCapture("fulfiller");
  readonly deadLetters = new FakePublisher();
  readonly orders: OrderTruth[] = [];
  fulfiller!: Fulfiller;
  /** The order the last command touched, and whether the process crashed during it. */
  touched = -1;
  crashedLast = false;
  lastFault: Fault = { on: "none" };
  /** The touched order as it was before the command. */
  before: OrderRecord | undefined;
  private crashAfterSend = false;

  constructor(
    readonly world: ModelWorld,
    inner: OrderStore,
  ) {
    this.store = new FaultyStore(inner);
    this.boot();
  }

  /** A (new) fulfiller process over the same store and stand-ins. */
  boot(): void {
    const mailer = new SendGridMailer({ apiKey: "SG.test-key", apiBase: this.world.sendgrid.url });
    const crashing: Mailer = {
      send: async (email, options) => {
        if (this.store.crashed) throw new CrashedError();
        const sent = await mailer.send(email, options);
        if (this.crashAfterSend) {
          this.store.crashed = true; // SendGrid took it; the process dies before it hears
          throw new CrashedError();
        }
        return sent;
      },
    };
    this.fulfiller = new Fulfiller({
      store: this.store,
      stripe: new StripeApiCatalog(
        createStripeClient({
          apiKey: STRIPE_KEY,
          apiBase: this.world.stripe.url,
          timeoutMs: SETTINGS.deadlineMs,
        }),
      ),
      mailer: crashing,
      deadLetter: this.deadLetters,
      settings: SETTINGS,
      clock: this.clock,
    });
  }

  captured(sessionId: string, kind?: "order" | "stop_notice"): CapturedEmail[] {
    return this.world.sendgrid.emailsFor(sessionId).filter((e) => !kind || e.customArgs.email_kind === kind);
  }

  /** Runs one command under `fault`, touching order `i`; a crash ends in a restarted process. */
  async run(i: number, fault: Fault, body: () => Promise<unknown>): Promise<void> {
    this.step += 1;
    this.touched = i;
    this.crashedLast = false;
    this.lastFault = fault;
    this.before = await this.store.inner.get(this.orders[i]!.sessionId);
    const truth = this.orders[i]!;
    for (const o of this.orders) o.emailsBefore = this.captured(o.sessionId, "order").length;
    if (isUnknownClass(fault)) truth.unknownFaults += 1;
    if (fault.on === "stripe")
      this.world.stripe.addFault({ match: fault.match, status: fault.status, times: 5 });
    if (fault.on === "sendgrid")
      this.world.sendgrid.addFault(
        "status" in fault
          ? { match: "/v3/mail/send", status: fault.status }
          : fault.acceptThen === "reset"
            ? { match: "/v3/mail/send", acceptThenReset: true }
            : { match: "/v3/mail/send", acceptThenStatus: fault.acceptThen },
      );
    if (fault.on === "store") this.store.arm(fault.fault);
    this.crashAfterSend = fault.on === "crash_after_send";
    try {
      await body();
    } catch (err) {
      const expected =
        err instanceof OperatorRefusedError ||
        err instanceof CrashedError ||
        this.store.crashed ||
        fault.on !== "none";
      if (!expected) throw err;
    } finally {
      this.world.stripe.faults.clear();
      this.world.sendgrid.faults.clear();
      this.crashAfterSend = false;
      this.store.arm(null);
      if (this.store.crashed) {
        this.crashedLast = true;
        this.store.restart();
        this.boot();
      }
    }
  }

  async order(i: number): Promise<OrderRecord | undefined> {
    return this.store.inner.get(this.orders[i]!.sessionId);
  }

  /** What Pub/Sub has yet to have acknowledged: it delivers these again. */
  unacked: Json[] = [];

  /** One push delivery; what is not acknowledged (a 503, a crash) Pub/Sub will bring again. */
  async deliver(envelope: Json): Promise<void> {
    let acked = false;
    try {
      acked = (await this.fulfiller.handlePush(parsePushEnvelope(envelope), this.logs.logger)).ack;
    } finally {
      if (!acked) this.unacked.push(envelope);
    }
  }
}

let counter = 0;
function envelopeOf(event: Json): Json {
  counter += 1;
  const object = (event.data as { object?: { id?: string } } | undefined)?.object;
  return {
    message: {
      data: Buffer.from(JSON.stringify(event)).toString("base64"),
      attributes: {
        event_id: event.id as string,
        event_type: event.type as string,
        object_id: object?.id ?? "",
      },
      messageId: `model-${counter}`,
      publishTime: new Date().toISOString(),
    },
    subscription: "projects/model/subscriptions/stripe-events-push",
  };
}

function warehouseEnvelope(message: DispatchConfirmed): Json {
  counter += 1;
  return {
    message: {
      data: Buffer.from(JSON.stringify(message)).toString("base64"),
      attributes: {
        source: "warehouse",
        event_type: "dispatch.confirmed",
        event_id: message.id,
        object_id: message.session_id,
      },
      messageId: `model-dsp-${counter}`,
    },
  };
}

function sendgridEnvelope(batch: Json[]): Json {
  counter += 1;
  return {
    message: {
      data: Buffer.from(JSON.stringify(batch)).toString("base64"),
      attributes: { source: "sendgrid", event_type: "sendgrid.events", event_count: String(batch.length) },
      messageId: `model-sg-${counter}`,
    },
  };
}

type Cmd = fc.AsyncCommand<object, Real>;
const command = (name: string, i: number, fault: Fault, body: (r: Real) => Promise<unknown>): Cmd => ({
  check: () => true,
  run: async (_m, r) => {
    await r.run(i, fault, () => body(r));
    await checkInvariants(r, name);
  },
  toString: () => `${name}(order ${i}${fault.on === "none" ? "" : `, fault ${JSON.stringify(fault)}`})`,
});

const orderIndex = fc.integer({ min: 0, max: ORDERS_PER_SEQUENCE - 1 });
const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Fault>({ on: "none" }) },
  {
    weight: 1,
    arbitrary: fc.record({
      on: fc.constant("stripe" as const),
      status: fc.constantFrom(429 as const, 500 as const),
      match: fc.constantFrom(
        "GET /v1/checkout/sessions/",
        "GET /v1/payment_intents",
        "GET /v1/charges",
        // The dispatch's writes: the shipment on the PaymentIntent, a dispute's evidence.
        "POST /v1/payment_intents",
        "POST /v1/disputes",
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.record({
        on: fc.constant("sendgrid" as const),
        status: fc.constantFrom(400 as const, 429 as const, 500 as const),
      }),
      fc.record({
        on: fc.constant("sendgrid" as const),
        acceptThen: fc.constantFrom(502 as const, "reset" as const),
      }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      on: fc.constant("store" as const),
      fault: fc.oneof(
        fc.record({ kind: fc.constant("unavailable" as const), at: fc.integer({ min: 1, max: 4 }) }),
        fc.record({ kind: fc.constant("lost_answer" as const), at: fc.integer({ min: 1, max: 4 }) }),
        fc.record({ kind: fc.constant("crash" as const), at: fc.integer({ min: 0, max: 4 }) }),
      ),
    }),
  },
  { weight: 2, arbitrary: fc.constant<Fault>({ on: "crash_after_send" }) },
);

const deliverCheckout = fc
  .tuple(
    orderIndex,
    fc.constantFrom("completed", "async_payment_succeeded", "async_payment_failed"),
    faultArb,
  )
  .map(([i, type, fault]) =>
    command(`deliver checkout.session.${type}`, i, fault, async (r) => {
      const envelope = envelopeOf(
        buildEvent({ type: `checkout.session.${type}`, object: r.orders[i]!.session }),
      );
      r.orders[i]!.envelopes.push(envelope);
      await r.deliver(envelope);
    }),
  );

const sendgridBatch = fc
  .tuple(
    orderIndex,
    // Mostly our own emails' events, and bounces and drops often enough to reach resends.
    fc.constantFrom("ours", "ours", "ours", "forged", "another_attempt"),
    fc.constantFrom("processed", "delivered", "deferred", "bounce", "bounce", "dropped"),
    fc.nat(),
    faultArb,
  )
  .map(([i, which, event, k, fault]) =>
    command(`SendGrid batch: ${which} ${event}`, i, fault, async (r) => {
      const truth = r.orders[i]!;
      const captured = r.captured(truth.sessionId);
      const email = captured[k % Math.max(1, captured.length)];
      let raw: Json;
      if (which === "ours") {
        if (!email) return;
        raw = buildSendGridEvent({
          event,
          email: "fulfilment@example.com",
          messageId: email.messageId,
          customArgs: email.customArgs,
        });
        if (event === "bounce" || event === "dropped") {
          if (email.customArgs.email_kind === "stop_notice") truth.noticeBounced = true;
          else truth.bounced.add(email.messageId);
        }
      } else {
        raw = buildSendGridEvent({
          event,
          email: "fulfilment@example.com",
          messageId: `someoneElses${k}`,
          customArgs: {
            order_id: truth.sessionId,
            email_kind: "order",
            ...(which === "another_attempt" ? { attempt_id: `not-an-attempt-${k}` } : {}),
          },
        });
      }
      await r.deliver(sendgridEnvelope([raw]));
    }),
  );

const resendCommand = fc
  .tuple(orderIndex, faultArb)
  .map(([i, fault]) =>
    command("operator: orders resend --undelivered", i, fault, (r) =>
      r.fulfiller.operator.resendUndelivered(r.orders[i]!.sessionId, r.logs.logger),
    ),
  );

/** The warehouse confirms (or corrects) a dispatch through the email's link (DESIGN 5b). */
const dispatchCommand = fc
  .tuple(orderIndex, fc.constantFrom("RM100000001GB", "RM100000002GB"), faultArb)
  .map(([i, number, fault]) =>
    command(`warehouse confirms dispatch ${number}`, i, fault, async (r) => {
      const truth = r.orders[i]!;
      const message = dispatchMessage(
        truth.sessionId,
        { carrier: "Royal Mail", tracking_number: number, tracking_url: "" },
        new Date(r.clock()),
      );
      truth.numbers.add(number);
      const envelope = warehouseEnvelope(message);
      truth.envelopes.push(envelope);
      await r.deliver(envelope);
    }),
  );

/** Stripe deletes the order's customer: its customer.deleted erases the order's details (DESIGN 5c). */
const customerDeletedCommand = fc.tuple(orderIndex, faultArb).map(([i, fault]) =>
  command("customer.deleted in Stripe and deliver its event", i, fault, async (r) => {
    const truth = r.orders[i]!;
    const id = truth.session.customer as string | null;
    if (!id) return;
    const envelope = envelopeOf(
      buildEvent({
        type: "customer.deleted",
        object: { id, object: "customer", deleted: true, livemode: false },
      }),
    );
    truth.envelopes.push(envelope);
    await r.deliver(envelope);
  }),
);

/** An erasure request (DESIGN 5c), at any point of the order's life, under any fault. */
const redactCommand = fc
  .tuple(orderIndex, faultArb)
  .map(([i, fault]) =>
    command("operator: orders redact", i, fault, (r) =>
      r.store.redact(r.orders[i]!.sessionId, "operator:model"),
    ),
  );

const commands: fc.Arbitrary<Cmd>[] = [
  redactCommand,
  customerDeletedCommand,
  dispatchCommand,
  // Deliveries and SendGrid's batches are most of an order's life: they come twice as often.
  deliverCheckout,
  deliverCheckout,
  fc.tuple(orderIndex, fc.nat(), faultArb).map(([i, k, fault]) =>
    command("redeliver (Pub/Sub, reconcile or dlq replay)", i, fault, async (r) => {
      const sent = r.orders[i]!.envelopes;
      if (sent.length) await r.deliver(sent[k % sent.length]!);
    }),
  ),
  fc
    .tuple(orderIndex, fc.constantFrom("refund", "dispute"), fc.boolean(), faultArb)
    .map(([i, what, tell, fault]) =>
      command(`${what} in Stripe${tell ? " and deliver its event" : ""}`, i, fault, async (r) => {
        const truth = r.orders[i]!;
        if (!r.world.stripe.chargeOfSession(truth.sessionId)) return;
        const event =
          what === "refund"
            ? buildEvent({ type: "charge.refunded", object: r.world.stripe.refund(truth.sessionId).charge })
            : buildEvent({
                type: "charge.dispute.created",
                object: r.world.stripe.dispute(truth.sessionId).dispute,
              });
        truth.stoppedAt ??= r.step;
        const envelope = envelopeOf(event);
        truth.envelopes.push(envelope);
        if (tell) await r.deliver(envelope);
      }),
    ),
  sendgridBatch,
  sendgridBatch,
  fc
    .tuple(orderIndex, faultArb)
    .map(([i, fault]) =>
      command("operator: orders retry", i, fault, (r) =>
        r.fulfiller.operator.retry(r.orders[i]!.sessionId, r.logs.logger),
      ),
    ),
  fc.tuple(orderIndex, faultArb).map(([i, fault]) =>
    command("operator: orders resolve", i, fault, async (r) => {
      // A careful operator: SendGrid's activity for the attempt in doubt decides --sent or --resend.
      const order = await r.order(i);
      if (!order) return;
      const kind = emailInDoubt(order);
      const record =
        kind === "order" ? order.email : kind === "stop_notice" ? order.stop_notice : order.email.resend;
      const tookIt = r
        .captured(order.session_id)
        .some((e) => !!record?.attempt_id && e.customArgs.attempt_id === record.attempt_id);
      if (tookIt) {
        await r.store.transact(order.session_id, (o, now) => ({
          next: o ? confirmSent(o, now) : undefined,
          result: undefined,
        }));
        await r.fulfiller.operator.sendOwedNotice(order.session_id, r.logs.logger);
      } else await r.fulfiller.operator.resend(order.session_id, r.logs.logger);
    }),
  ),
  resendCommand,
  resendCommand,
  fc
    .tuple(orderIndex, faultArb)
    .map(([i, fault]) =>
      command("operator: the owed stop notice", i, fault, (r) =>
        r.fulfiller.operator.sendOwedNotice(r.orders[i]!.sessionId, r.logs.logger),
      ),
    ),
  fc.tuple(orderIndex, faultArb).map(([i, fault]) =>
    command("Pub/Sub redelivers what was not acknowledged", i, fault, async (r) => {
      const again = r.unacked.splice(0);
      for (const envelope of again) await r.deliver(envelope);
    }),
  ),
  fc
    .tuple(orderIndex, faultArb)
    .map(([i, fault]) =>
      command("scheduled reconcile: orders still in review", i, fault, (r) =>
        remindReview(r.store, r.logs.logger, new Date(r.clock())),
      ),
    ),
  orderIndex.map((i) =>
    command("time passes beyond the lease", i, { on: "none" }, (r) => {
      r.offsetMs += SETTINGS.leaseMs + 1000;
      return Promise.resolve();
    }),
  ),
];

/** `orders resolve --sent`, as the CLI applies it. */
const confirmSent = (order: OrderRecord, now: Date): OrderRecord =>
  confirmSentChange(order, order.session_id, "model-operator", now);

async function checkInvariants(r: Real, after: string): Promise<void> {
  for (const truth of r.orders) {
    const s = truth.sessionId;
    const orderEmails = r.captured(s, "order");
    const notices = r.captured(s, "stop_notice");
    const order = await r.store.inner.get(s);
    const where = `after ${after}, order ${s}`;
    // At most one order email, plus one per resend of an email SendGrid really bounced or dropped.
    expect(orderEmails.length, `${where}: order emails`).to.be.at.most(1 + truth.bounced.size);
    // None once a full refund or a dispute was in Stripe before the command that sent it.
    if (truth.stoppedAt !== null && truth.stoppedAt < r.step)
      expect(orderEmails.length, `${where}: an order email after the refund or dispute`).to.equal(
        truth.emailsBefore,
      );
    expect(notices.length, `${where}: stop notices`).to.be.at.most(1);
    if (!order) continue;
    // One Stripe write per confirmed tracking number (the idempotency key names the order
    // and the number), and a dispute's evidence filled under one key.
    const intent = order.payment_intent_id ?? (truth.session.payment_intent as string | null);
    const writes = r.world.stripe.requests.filter(
      (q) => q.method === "POST" && q.path === `/v1/payment_intents/${intent}`,
    );
    const allowed = new Set([...truth.numbers].map((n) => shipmentKey(s, n)));
    for (const w of writes)
      expect(
        allowed.has(w.idempotencyKey ?? ""),
        `${where}: a shipment write for no confirmed number`,
      ).to.equal(true);
    if (order.dispatch)
      expect(truth.numbers.has(order.dispatch.tracking_number), `${where}: dispatch number`).to.equal(true);
    const dispute = order.after_sale?.dispute_id;
    if (dispute) {
      const keys = new Set(
        r.world.stripe.requests
          .filter((q) => q.method === "POST" && q.path === `/v1/disputes/${dispute}`)
          .map((q) => q.idempotencyKey),
      );
      expect(keys.size, `${where}: dispute evidence keys`).to.be.at.most(1);
    }
    // Erased stays erased: nothing written after a redaction brings the details back.
    if (order.redacted_at && order.details) {
      const d = order.details;
      expect(
        [
          d.customer.name,
          d.customer.email,
          d.customer.phone,
          d.shipping?.name,
          d.shipping?.address,
          ...d.custom_fields.map((f) => f.value),
        ].filter(Boolean),
        `${where}: personal details after redaction`,
      ).to.deep.equal([]);
    }
    // Never stranded: an operator's command that did not crash leaves no `processing` order.
    // (A crash leaves it `processing` until its lease ends; then retry or resolve takes it up.)
    const tookIt = r.before?.status !== "processing" || r.before.claim_id !== order.claim_id;
    if (after.startsWith("operator:") && r.orders[r.touched] === truth && !r.crashedLast && tookIt)
      expect(order.status, `${where}: left processing by an operator's command`).to.not.equal("processing");
    // needs_review only after an unknown outcome, and always with its alert: a crash
    // between the write and the log line may eat it, and then the scheduled reconcile
    // repeats it.
    if (order.status === "needs_review") {
      expect(
        truth.unknownFaults,
        `${where}: needs_review with no unknown outcome (${order.reason})`,
      ).to.be.above(0);
      const alerted = r.logs.lines.some((l) => l.alert === "needs_review" && l.session_id === s);
      // (Likewise a write whose answer was lost: the attempt answers 503, and the redelivery
      // or the reconcile says it again.)
      const lostAnswer = r.lastFault.on === "store" && r.lastFault.fault.kind === "lost_answer";
      if (!alerted && (r.crashedLast || lostAnswer || r.unacked.length)) truth.alertOwed = true;
      else if (!alerted)
        expect(
          truth.alertOwed && !after.startsWith("scheduled reconcile"),
          `${where}: needs_review without its alert`,
        ).to.equal(true);
    }
    // A bounced or dropped stop notice is alerted (once Pub/Sub has redelivered what a
    // fault left unacknowledged) and listed.
    const undelivered = (state?: string) => state === "bounce" || state === "dropped";
    if (truth.noticeBounced && undelivered(order.stop_notice?.delivery?.state)) {
      if (!r.unacked.length)
        expect(
          r.logs.lines.some((l) => l.alert === "email_undelivered" && l.email_kind === "stop_notice"),
          `${where}: bounced notice without its alert`,
        ).to.equal(true);
      const listed = await r.store.inner.list({ undelivered: true, limit: 1000 });
      expect(
        listed.map((o) => o.session_id),
        `${where}: bounced notice not listed`,
      ).to.include(s);
    }
  }
}

export interface ModelRun {
  seed: number;
  numRuns: number;
  commands: number;
  ms: number;
}

/** Runs `numRuns` random sequences (each with fresh orders) and returns what ran. */
export async function runOrderLifeModel(
  world: ModelWorld,
  options: { numRuns: number; maxCommands: number; seed?: number; path?: string },
): Promise<ModelRun> {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const started = Date.now();
  let ran = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.commands(commands, { maxCommands: options.maxCommands, size: "+1" }),
      async (cmds) => {
        const clockBox: { clock?: () => number } = {};
        const inner: OrderStore = world.db
          ? new FirestoreOrderStore(world.db, () => clockBox.clock!())
          : new MemoryOrderStore(() => clockBox.clock!());
        const real = new Real(world, inner);
        clockBox.clock = real.clock;
        for (let i = 0; i < ORDERS_PER_SEQUENCE; i++) {
          const session = buildSession({ lines: [SCALE_LINE] });
          world.stripe.addCheckout({ session, lineItems: buildLineItems({ lines: [SCALE_LINE] }) });
          real.orders.push({
            sessionId: session.id as string,
            session,
            envelopes: [],
            stoppedAt: null,
            bounced: new Set(),
            noticeBounced: false,
            alertOwed: false,
            unknownFaults: 0,
            emailsBefore: 0,
            numbers: new Set(),
          });
        }
        await fc.asyncModelRun(() => ({ model: {}, real }), cmds);
        ran += [...cmds].length;
      },
    ),
    { numRuns: options.numRuns, seed, ...(options.path ? { path: options.path } : {}) },
  );
  return { seed, numRuns: options.numRuns, commands: ran, ms: Date.now() - started };
}
