import { expect } from "chai";
import {
  emailHash,
  erasedFields,
  holdsInlinePii,
  mergeOrder,
  redactOrder,
  splitOrder,
} from "../../../../services/fulfiller/claims/customer-data.js";
import type { OrderRecord } from "../../../../services/fulfiller/claims/order-state.js";

const NOW = new Date("2026-12-04T12:00:00Z");
const KEY = "unit-email-hash-key-0123456789abcdef";

function order(): OrderRecord {
  return {
    session_id: "cs_test_unit",
    status: "fulfilled",
    reason: null,
    claim_id: null,
    lease_expires_at: null,
    attempts: 1,
    event_ids: ["evt_1"],
    last_event_type: "checkout.session.completed",
    email: { state: "sent" },
    history: [],
    created_at: NOW,
    updated_at: NOW,
    payment_intent_id: "pi_1",
    details: {
      mode: "payment",
      livemode: false,
      currency: "gbp",
      customer: { name: "Ada Byron", email: "Ada@Example.com", phone: "+44 1" },
      shipping: {
        name: "Ada Byron",
        address: { line1: "1 St James's Sq", city: "London" },
        source: "shipping",
      },
      line_items: [],
      totals: { subtotal: 1, shipping: 0, discount: 0, tax: 0, total: 1 },
      subscription_id: null,
      payment_intent_id: "pi_1",
      custom_fields: [{ key: "note", label: "Note", value: "ring twice" }],
    },
  };
}

describe("unit: customer data apart from the order (DESIGN 5c)", () => {
  it("splits the details off with their expiry and the email's keyed hash, and merges them back to the same record", () => {
    const o = order();
    const { order: stored, customer } = splitOrder(o, NOW, { retentionDays: 180, emailHashKey: KEY });
    expect(JSON.stringify(stored)).to.not.match(/Ada|ring twice|James/);
    expect(stored.pii).to.equal("separate");
    expect(stored.customer_email_hash).to.equal(emailHash(KEY, "ada@example.com"));
    expect(stored.details?.custom_fields).to.deep.equal([{ key: "note", label: "Note", value: null }]);
    expect(customer?.expire_at).to.deep.equal(new Date("2027-06-02T12:00:00Z"));
    expect(mergeOrder(stored, customer!).details).to.deep.equal(o.details);
    expect(holdsInlinePii(o)).to.equal(true);
    expect(holdsInlinePii(stored)).to.equal(false);
  });

  it("hashes an address the same whatever its case and spaces, and differently under another key", () => {
    expect(emailHash(KEY, "  ADA@example.COM ")).to.equal(emailHash(KEY, "ada@example.com"));
    expect(emailHash(`${KEY}x`, "ada@example.com")).to.not.equal(emailHash(KEY, "ada@example.com"));
    expect(emailHash(KEY, "ada@example.com")).to.match(/^[0-9a-f]{64}$/);
  });

  it("redacts in place: names what it erases, keeps the fences and ids, and a redacted record never splits details off again", () => {
    const o = order();
    expect(erasedFields({ ...o, customer_email_hash: "h" })).to.deep.equal([
      "name",
      "email",
      "phone",
      "shipping name",
      "shipping address",
      "1 custom-field value",
      "email look-up hash",
    ]);
    const r = redactOrder(o, NOW, "operator:unit");
    expect(r).to.deep.include({
      status: "fulfilled",
      payment_intent_id: "pi_1",
      redacted_by: "operator:unit",
      pii: "redacted",
    });
    expect(r.email).to.deep.equal(o.email);
    expect(erasedFields(r)).to.deep.equal([]);
    // Even if a later write carries the details again (a resend re-read them from Stripe).
    const rewritten = { ...r, details: o.details };
    const { order: stored, customer } = splitOrder(rewritten, NOW, { retentionDays: 180, emailHashKey: KEY });
    expect(customer).to.equal(null);
    expect(JSON.stringify(stored)).to.not.match(/Ada|ring twice/);
    expect(mergeOrder(stored, undefined)).to.deep.equal(stored);
  });
});
