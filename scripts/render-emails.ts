/**
 * Renders docs/EMAILS.md: the order email, text and HTML, for one realistic order per
 * case, through the real composer, so the samples cannot drift from the code.
 *   npm run docs:emails            writes docs/EMAILS.md
 *   npm run docs:emails -- --check exits 1 when docs/EMAILS.md is out of date
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { buildOrderDetails } from "../services/fulfiller/checkout/order-details.js";
import { composeOrderEmail, type OrderEmail } from "../services/fulfiller/email/compose-email.js";
import { composeStopNotice } from "../services/fulfiller/email/compose-stop-notice.js";
import type { OrderDetails, OrderRecord } from "../services/fulfiller/claims/order-state.js";
import type { CheckoutSession, LineItem, Subscription } from "../services/fulfiller/session.js";
import {
  buildLineItems,
  buildSession,
  buildSubscription,
  DEFAULT_CUSTOMER,
  DEMO_COVER_LINE,
  DEMO_ORDER,
  SCALE_LINE,
  type SessionSpec,
} from "../services/local/stripe/objects.js";

const ORDERED_AT = Date.UTC(2026, 10, 27, 14, 5, 0) / 1000;
interface Sample {
  title: string;
  note: string;
  spec: SessionSpec;
  subscription?: Record<string, unknown>;
  adjust?: (details: OrderDetails) => OrderDetails;
}

const SAMPLES: Sample[] = [
  {
    title: "Paid, shipped to the UK",
    note: "A one-off payment with a shipping rate chosen at checkout.",
    spec: {
      id: "cs_live_a1Paid0000000000000000000000000000000000000000000GB7Q2Z",
      livemode: true,
      // The demo order `npm start` and `send-test-event` send: the same lines, currency and rate.
      ...DEMO_ORDER,
      lines: [...DEMO_ORDER.lines],
    },
  },
  {
    title: "Partly refunded before shipping",
    note: "Support refunded the cover before the order shipped; the scale still ships.",
    spec: {
      id: "cs_live_a1Refund00000000000000000000000000000000000000000RF4K8M",
      livemode: true,
      currency: "usd",
      customer: {
        ...DEFAULT_CUSTOMER,
        name: "Grace Hopper",
        email: "grace@example.com",
        phone: "+12025550143",
        address: {
          line1: "1 Market St",
          line2: "Suite 300",
          city: "San Francisco",
          state: "CA",
          postal_code: "94105",
          country: "US",
        },
      },
      lines: [SCALE_LINE, DEMO_COVER_LINE],
      shippingCost: 900,
      shippingMethod: "UPS Ground",
    },
    adjust: (details) => ({ ...details, refunded: 3000 }),
  },
  {
    title: "Subscription on a trial",
    note: "Nothing is paid yet; with FULFIL_TRIALS=true the scale ships now.",
    spec: {
      id: "cs_live_a1Trial000000000000000000000000000000000000000000TR9D3X",
      livemode: true,
      mode: "subscription",
      paymentStatus: "no_payment_required",
      currency: "eur",
      subscriptionId: "sub_1TrialDocsSample000001",
      customer: {
        ...DEFAULT_CUSTOMER,
        name: "Emmy Noether",
        email: "emmy@example.com",
        phone: null,
        address: { line1: "Unter den Linden 1", city: "Berlin", postal_code: "10117", country: "DE" },
      },
      lines: [{ ...SCALE_LINE, unitAmount: 1500, description: "Smart Scale membership (monthly)" }],
    },
    subscription: buildSubscription("sub_1TrialDocsSample000001", {
      trialEnd: Date.UTC(2026, 11, 11) / 1000,
    }),
  },
  {
    title: "Paid subscription",
    note: "The first invoice is paid; renewals never ship again.",
    spec: {
      id: "cs_live_a1Subscr00000000000000000000000000000000000000000SB2H6P",
      livemode: true,
      mode: "subscription",
      currency: "usd",
      subscriptionId: "sub_1PaidDocsSample0000002",
      lines: [{ ...SCALE_LINE, unitAmount: 1500, description: "Smart Scale membership (monthly)" }],
    },
    subscription: buildSubscription("sub_1PaidDocsSample0000002"),
  },
  {
    title: "Multi-currency (JPY, a zero-decimal currency, on a USD price)",
    note: "The price's default currency is USD; the customer paid in yen through a currency option.",
    spec: {
      id: "cs_live_a1Yen00000000000000000000000000000000000000000000JP5V1C",
      livemode: true,
      currency: "jpy",
      customer: {
        ...DEFAULT_CUSTOMER,
        name: "Kenji Sato",
        email: "kenji@example.com",
        address: {
          line1: "1-1 Chiyoda",
          city: "Chiyoda-ku",
          state: "Tokyo",
          postal_code: "100-0001",
          country: "JP",
        },
      },
      lines: [{ ...SCALE_LINE, unitAmount: 19800, price: { currency: "usd", unitAmount: 12900 } }],
      shippingCost: 1200,
      shippingMethod: "EMS",
    },
  },
  {
    title: "No shipping address collected",
    note: "Checkout did not collect a shipping address, and the billing address has no street line.",
    spec: {
      id: "cs_test_a1NoAddr00000000000000000000000000000000000000000NA8W4E",
      noShippingAddress: true,
      currency: "gbp",
      customer: { ...DEFAULT_CUSTOMER, address: { line1: "", city: "", postal_code: "N1", country: "GB" } },
      lines: [{ ...SCALE_LINE, unitAmount: 7900 }],
    },
  },
];

function detailsOf(sample: Sample): { sessionId: string; details: OrderDetails } {
  const session = { ...buildSession(sample.spec), created: ORDERED_AT } as Record<string, unknown>;
  if (session.payment_intent) session.payment_intent = `pi_3Docs${String(sample.spec.id).slice(-6)}`;
  const items = buildLineItems(sample.spec) as unknown as LineItem[];
  const details = buildOrderDetails(
    session as unknown as CheckoutSession,
    items,
    sample.subscription as unknown as Subscription | undefined,
  );
  return { sessionId: session.id as string, details: sample.adjust ? sample.adjust(details) : details };
}

function render(sample: Sample): string {
  const { sessionId, details } = detailsOf(sample);
  return section(`## ${sample.title}`, sample.note, composeOrderEmail({ sessionId, details }));
}

/** The notice the first sample's order would get if it were refunded in full after its email. */
function renderStopNotice(): string {
  const { sessionId, details } = detailsOf(SAMPLES[0]!);
  const sentAt = new Date((ORDERED_AT + 120) * 1000);
  const order = {
    session_id: sessionId,
    status: "fulfilled",
    email: {
      state: "sent",
      sent_at: sentAt,
      message_id: "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    },
    details,
  } as unknown as OrderRecord;
  const email = composeStopNotice(order, {
    kind: "refunded",
    at: new Date((ORDERED_AT + 7200) * 1000),
    event_id: "evt_3DocsRefund0000000000001",
    charge_id: "ch_3DocsGB7Q2Z00000000000001",
    payment_intent_id: `pi_3Docs${sessionId.slice(-6)}`,
    currency: details.currency,
    amount: details.totals.total ?? 0,
    amount_refunded: details.totals.total ?? 0,
    notice: "owed",
  });
  return section(
    "## STOP SHIPMENT notice (the UK order above, refunded in full after its email)",
    "Sent once to FULFILMENT_EMAIL_TO when an order already emailed is refunded in full or disputed (DESIGN 5a).",
    email,
  );
}

function section(title: string, note: string, email: OrderEmail): string {
  return [
    title,
    "",
    note,
    "",
    `Subject: \`${email.subject}\``,
    "",
    "```text",
    email.text.trimEnd(),
    "```",
    "",
    "<details><summary>HTML part</summary>",
    "",
    "```html",
    email.html,
    "```",
    "",
    "</details>",
    "",
  ].join("\n");
}

export function renderEmailSamples(): string {
  return [
    "# The order email and the stop-shipment notice",
    "",
    "Generated by `npm run docs:emails` from the real composers (`services/fulfiller/email/compose-email.ts`,",
    "`compose-stop-notice.ts`);",
    "`npm test` fails when this file is out of date. One realistic order per case.",
    "",
    ...SAMPLES.map(render),
    renderStopNotice(),
  ].join("\n");
}

const target = fileURLToPath(new URL("../docs/EMAILS.md", import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rendered = renderEmailSamples();
  if (process.argv.includes("--check")) {
    const current = await readFile(target, "utf8").catch(() => "");
    if (current !== rendered) {
      console.error("docs/EMAILS.md is out of date: run `npm run docs:emails`");
      process.exit(1);
    }
  } else {
    await writeFile(target, rendered);
    console.log(`wrote ${target}`);
  }
}
