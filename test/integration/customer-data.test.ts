// DESIGN 5c against the real store (Firestore emulator) and the real SDKs: the customer's
// details apart from the order, with their expiry; erased in place by order, by email and
// by Stripe's customer.deleted; and nothing sent again after it.
import { expect } from "chai";
import { FulfillerHarness } from "../support/fulfiller-harness.js";
import { createCheckout } from "../support/checkout.js";
import { requireEmulators } from "../support/emulator-state.js";
import { buildEvent } from "../../services/local/stripe/objects.js";
import { emailHash } from "../../services/fulfiller/claims/customer-data.js";
import { ordersOfEmail, redactOrderById } from "../../services/fulfiller/operator/redact.js";
import { ResendRefusedError } from "../../services/fulfiller/operator/review.js";
import type { Fulfiller } from "../../services/fulfiller/fulfil-order.js";
import type { Firestore } from "@google-cloud/firestore";

const KEY = FulfillerHarness.EMAIL_HASH_KEY;

/** What SendGrid's Event Webhook would have recorded of an undelivered email. */
const bounced = (state: "bounce" | "dropped") => ({
  state,
  at: new Date(),
  reason: "550 mailbox unavailable",
  sg_message_id: null,
  events: 1,
  seen: [],
  history: [{ state, at: new Date(), reason: "550 mailbox unavailable" }],
});

/** Every document of the database, as text: what a search of the whole database sees. */
async function everything(db: Firestore): Promise<string> {
  const out: string[] = [];
  const walk = async (collections: FirebaseFirestore.CollectionReference[]) => {
    for (const c of collections)
      for (const doc of (await c.get()).docs) {
        out.push(JSON.stringify(doc.data()));
        await walk(await doc.ref.listCollections());
      }
  };
  await walk(await db.listCollections());
  return out.join("\n");
}

describe("integration: customer data kept apart, kept briefly, erasable (DESIGN 5c)", function () {
  this.timeout(60_000);
  let h: FulfillerHarness;
  let f: Fulfiller;

  before(async function () {
    requireEmulators(this);
    h = await new FulfillerHarness().start();
    f = h.makeFulfiller();
  });
  after(() => h?.stop());

  const customer = (tag: string) => ({
    name: `Erin ${tag} Quill`,
    email: `erin.${tag.toLowerCase()}@example.net`,
    phone: `+44 20 7946 ${tag.length}${tag.length}${tag.length}${tag.length}`,
    address: { line1: `${tag} Lantern Row 7`, city: "Bristol", postal_code: "BS1 4DJ", country: "GB" },
  });
  const orderDoc = async (id: string) => (await h.db.collection("orders").doc(id).get()).data()!;
  const privateDoc = async (id: string) =>
    (await h.db.collection("orders").doc(id).collection("private").doc("customer").get()).data();

  async function shipped(tag: string) {
    const details = customer(tag);
    const c = createCheckout(h.stripe, {
      customer: details,
      customFields: [
        {
          key: "gift_note",
          label: { type: "custom", custom: "Gift note" },
          type: "text",
          text: { value: `for ${tag}` },
        },
      ],
    });
    expect((await h.deliver(f, c.event())).result).to.equal("fulfilled");
    return { ...c, details };
  }

  it("when an order is recorded, then the order document holds no personal detail, the private one holds them with their expiry, and reads merge them", async () => {
    const c = await shipped("Kestrel");
    const text = JSON.stringify(await orderDoc(c.sessionId));
    for (const value of [
      c.details.name,
      c.details.email,
      c.details.phone,
      c.details.address.line1,
      "for Kestrel",
    ])
      expect(text, value).to.not.include(value);
    const o = await orderDoc(c.sessionId);
    expect(o.pii).to.equal("separate");
    expect(o.customer_email_hash).to.equal(emailHash(KEY, c.details.email));
    expect(o.customer_id).to.match(/^cus_/);
    const p = (await privateDoc(c.sessionId))!;
    expect(p.customer).to.deep.include({ name: c.details.name, email: c.details.email });
    const days = ((p.expire_at as FirebaseFirestore.Timestamp).toMillis() - Date.now()) / 86_400_000;
    expect(days).to.be.within(179.9, 180.01);
    // The store's reads give the domain the whole record (orders show, the evidence, a resend).
    const merged = (await h.store.get(c.sessionId))!;
    expect(merged.details?.customer.email).to.equal(c.details.email);
    expect(merged.details?.shipping?.address?.line1).to.equal(c.details.address.line1);
    expect(merged.details?.custom_fields[0]?.value).to.equal("for Kestrel");
  });

  it("when an order is redacted, then a search of the whole database finds none of the customer's details, the fence and ids stay, and redeliveries send nothing", async () => {
    const c = await shipped("Heron");
    const emails = h.sendgrid.attempts;
    const dry = await redactOrderById(h.store, c.sessionId, "operator:test", true);
    expect(dry?.erased).to.deep.equal([
      "name",
      "email",
      "phone",
      "shipping name",
      "shipping address",
      "1 custom-field value",
      "email look-up hash",
    ]);
    expect((await h.store.get(c.sessionId))?.redacted_at ?? null).to.equal(null);
    const done = await redactOrderById(h.store, c.sessionId, "operator:test");
    expect(done?.erased).to.have.length(7);
    const db = await everything(h.db);
    for (const value of [
      c.details.name,
      c.details.email,
      c.details.phone,
      c.details.address.line1,
      "for Heron",
      emailHash(KEY, c.details.email),
    ])
      expect(db, value).to.not.include(value);
    const o = (await h.store.get(c.sessionId))!;
    expect(o).to.deep.include({
      status: "fulfilled",
      session_id: c.sessionId,
      pii: "redacted",
      redacted_by: "operator:test",
    });
    expect(o.email.state).to.equal("sent");
    expect(o.payment_intent_id).to.match(/^pi_/);
    // Stripe's redelivery and an operator's DLQ replay are the same push: a duplicate.
    expect((await h.deliver(f, c.event())).result).to.equal("duplicate");
    expect(
      (
        await h.deliver(
          f,
          buildEvent({ type: "checkout.session.async_payment_succeeded", object: c.session }),
        )
      ).result,
    ).to.equal("duplicate");
    expect(h.sendgrid.attempts).to.equal(emails);
    // A later write (a refund's notice) never brings the details back.
    const { charge } = h.stripe.refund(c.sessionId);
    await h.deliver(f, buildEvent({ type: "charge.refunded", object: charge }));
    expect(await everything(h.db)).to.not.include(c.details.email);
    expect(await privateDoc(c.sessionId)).to.equal(undefined);
    // Again: nothing left, said so.
    expect((await redactOrderById(h.store, c.sessionId, "operator:test"))?.already).to.equal(true);
  });

  it("when redacted by email, then exactly that customer's orders are erased", async () => {
    const a1 = await shipped("Wren");
    const a2 = await shipped("Wren");
    const b = await shipped("Finch");
    const ids = await ordersOfEmail(h.store, KEY, "  ERIN.WREN@example.net ");
    expect(ids.sort()).to.deep.equal([a1.sessionId, a2.sessionId].sort());
    for (const id of ids) await redactOrderById(h.store, id, "operator:test");
    expect((await h.store.get(a1.sessionId))?.details?.customer.email ?? null).to.equal(null);
    expect((await h.store.get(b.sessionId))?.details?.customer.email).to.equal(b.details.email);
  });

  it("when Stripe says customer.deleted, then that customer's orders are redacted, and the event is acknowledged", async () => {
    const c = await shipped("Plover");
    const other = await shipped("Tern");
    const customerId = (await h.store.get(c.sessionId))!.customer_id!;
    const outcome = await h.deliver(
      f,
      buildEvent({
        type: "customer.deleted",
        object: { id: customerId, object: "customer", deleted: true, livemode: false },
      }),
    );
    expect(outcome).to.include({ ack: true, result: "redacted", reason: "1 order(s) redacted" });
    expect((await h.store.get(c.sessionId))?.redacted_by).to.match(/^stripe:customer\.deleted evt_/);
    expect((await h.store.get(other.sessionId))?.redacted_at ?? null).to.equal(null);
  });

  it("when a redacted order's email must be resent, then it is re-read from Stripe for that email only, or refused when Stripe erased it too", async () => {
    const c = await shipped("Avocet");
    const id = c.sessionId;
    await h.store.transact(id, (o) => ({
      next: {
        ...o!,
        email: { ...o!.email, delivery: bounced("bounce") },
      },
      result: undefined,
    }));
    await redactOrderById(h.store, id, "operator:test");
    const resent = await f.operator.resendUndelivered(id, h.logs.logger);
    expect(resent).to.include({ result: "resent" });
    const last = h.sendgrid.emailsFor(id).at(-1)!;
    expect(last.text).to.include(c.details.address.line1);
    expect(await everything(h.db)).to.not.include(c.details.email);

    // Stripe has erased the customer as well: nothing to send, and said why.
    const d = await shipped("Stilt");
    await h.store.transact(d.sessionId, (o) => ({
      next: {
        ...o!,
        email: { ...o!.email, delivery: bounced("dropped") },
      },
      result: undefined,
    }));
    await redactOrderById(h.store, d.sessionId, "operator:test");
    Object.assign(d.session, {
      customer_details: { name: null, email: null, phone: null, address: null },
      collected_information: null,
    });
    const refused = await f.operator.resendUndelivered(d.sessionId, h.logs.logger).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).to.be.instanceOf(ResendRefusedError);
    expect((refused as Error).message).to.match(/erased on \d{4}-\d\d-\d\d and Stripe no longer has them/);
  });

  it("when orders were written before the split, then they keep working, and migrate-pii moves them once", async () => {
    const c = await shipped("Curlew");
    // The order as an earlier version wrote it: the details inline, no private document.
    const merged = (await h.store.get(c.sessionId))!;
    const { pii: _p, customer_email_hash: _h, ...legacy } = merged;
    await h.db.collection("orders").doc(c.sessionId).set(legacy);
    await h.db.collection("orders").doc(c.sessionId).collection("private").doc("customer").delete();
    expect((await h.store.get(c.sessionId))?.details?.customer.email).to.equal(c.details.email);
    const before = await h.store.legacyPage(null, 1000);
    expect(before.ids).to.include(c.sessionId);
    for (const id of before.ids) await h.store.transact(id, (o) => ({ next: o, result: undefined }));
    expect((await h.store.legacyPage(null, 1000)).ids).to.deep.equal([]);
    expect(JSON.stringify(await orderDoc(c.sessionId))).to.not.include(c.details.email);
    expect((await privateDoc(c.sessionId))?.customer).to.deep.include({ email: c.details.email });
  });
});
