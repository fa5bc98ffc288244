/** Payment objects as Stripe returns them: a PaymentIntent, its charge, a refund, a dispute. */
import paymentIntentFixture from "./fixtures/payment_intent.json" with { type: "json" };
import chargeFixture from "./fixtures/charge.json" with { type: "json" };
import refundFixture from "./fixtures/refund.json" with { type: "json" };
import disputeFixture from "./fixtures/dispute.json" with { type: "json" };
import { clone, now, randomId, type Json } from "./ids.js";

export interface ChargeSpec {
  paymentIntentId: string;
  amount: number;
  currency: string;
  livemode?: boolean;
  /** Refunded so far (all of `amount`: fully refunded). */
  amountRefunded?: number;
  disputed?: boolean;
}

/** A charge as `GET /v1/charges/{id}` returns it. */
export function buildCharge(id: string, spec: ChargeSpec): Json {
  const charge = clone(chargeFixture) as Json;
  const refunded = spec.amountRefunded ?? 0;
  Object.assign(charge, {
    id,
    amount: spec.amount,
    amount_captured: spec.amount,
    amount_refunded: refunded,
    refunded: refunded >= spec.amount,
    disputed: !!spec.disputed,
    captured: true,
    paid: true,
    status: "succeeded",
    currency: spec.currency,
    created: now(),
    livemode: !!spec.livemode,
    payment_intent: spec.paymentIntentId,
    description: null,
    refunds: { object: "list", data: [], has_more: false, url: `/v1/charges/${id}/refunds` },
  });
  return charge;
}

/** A succeeded PaymentIntent as `GET /v1/payment_intents/{id}` returns it (latest_charge an id unless expanded). */
export function buildPaymentIntent(
  id: string,
  spec: { amount: number; currency: string; chargeId: string | null; livemode?: boolean },
): Json {
  const intent = clone(paymentIntentFixture) as Json;
  Object.assign(intent, {
    id,
    amount: spec.amount,
    amount_received: spec.chargeId ? spec.amount : 0,
    canceled_at: null,
    client_secret: `${id}_secret_${randomId("x", 16).slice(2)}`,
    created: now(),
    currency: spec.currency,
    last_payment_error: null,
    latest_charge: spec.chargeId,
    livemode: !!spec.livemode,
    next_action: null,
    processing: null,
    shipping: null,
    status: spec.chargeId ? "succeeded" : "processing",
    transfer_data: null,
  });
  return intent;
}

/** A refund of `amount` of a charge (a `charge.refunded` event carries the charge, not this). */
export function buildRefund(spec: {
  chargeId: string;
  paymentIntentId: string;
  amount: number;
  currency: string;
}): Json {
  const refund = clone(refundFixture) as Json;
  Object.assign(refund, {
    id: randomId("re"),
    amount: spec.amount,
    charge: spec.chargeId,
    payment_intent: spec.paymentIntentId,
    currency: spec.currency,
    created: now(),
    status: "succeeded",
    reason: "requested_by_customer",
  });
  return refund;
}

/** A dispute as a `charge.dispute.created` event carries it. */
export function buildDispute(spec: {
  chargeId: string;
  paymentIntentId: string;
  amount: number;
  currency: string;
  livemode?: boolean;
}): Json {
  const dispute = clone(disputeFixture) as Json;
  Object.assign(dispute, {
    id: randomId("dp"),
    amount: spec.amount,
    charge: spec.chargeId,
    payment_intent: spec.paymentIntentId,
    currency: spec.currency,
    created: now(),
    livemode: !!spec.livemode,
    reason: "product_not_received",
    status: "needs_response",
  });
  return dispute;
}
