/** What the order commands share: the operator's actions on the fulfiller, and how a refusal is reported. */
import { type OrderRecord } from "../../../fulfiller/claims/order-state.js";
import type { OrderStore } from "../../../fulfiller/ports.js";
import { Fulfiller, SUBSCRIPTION_MARKER } from "../../../fulfiller/fulfil-order.js";
import { isLiveKey } from "../../../fulfiller/classify-event.js";
import { type OperatorActions } from "../../../fulfiller/operator/operator-actions.js";
import { confirmSentChange, OperatorRefusedError } from "../../../fulfiller/operator/review.js";
import { cliBudget, type CliConfig } from "../../config.js";
import { PipelineClients } from "../../pipeline-clients.js";

/** Operator confirmed in SendGrid's activity that the email in doubt went out: record it. */
export async function confirmSent(
  store: OrderStore,
  sessionId: string,
  operator: string,
): Promise<OrderRecord> {
  return store.transact(sessionId, (order, now) => {
    const next = confirmSentChange(order, sessionId, operator, now);
    return { next, result: next };
  });
}

/**
 * Runs an operator's action on an order: a refusal (the order's state does not allow it;
 * nothing was changed) is exit 1 with its reason; the clients are closed either way.
 */
export async function operatorAction(clients: PipelineClients, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (!(err instanceof OperatorRefusedError)) throw err;
    console.error(`error: ${err.message}`);
    process.exitCode = 1;
  } finally {
    await clients.close();
  }
}

/**
 * The operator's actions on the fulfiller: the same send, claim and record code as a
 * delivery. The Stripe and SendGrid SDKs are loaded here, by the commands that use them.
 */
export async function operatorActions(config: CliConfig, store: OrderStore): Promise<OperatorActions> {
  const [{ createStripeClient, StripeApiCatalog }, { SendGridMailer }] = await Promise.all([
    import("../../../fulfiller/adapters/stripe-catalog.js"),
    import("../../../fulfiller/adapters/sendgrid-mailer.js"),
  ]);
  return new Fulfiller({
    store,
    stripe: new StripeApiCatalog(
      createStripeClient({
        apiKey: config.STRIPE_API_KEY!,
        apiBase: config.STRIPE_API_BASE,
        timeoutMs: config.HANDLER_DEADLINE_MS,
        budget: cliBudget(config),
      }),
    ),
    mailer: new SendGridMailer({ apiKey: config.SENDGRID_API_KEY ?? "", apiBase: config.SENDGRID_API_BASE }),
    deadLetter: {
      publish: () => Promise.reject(new Error("the CLI does not dead-letter")),
      close: () => Promise.resolve(),
    },
    settings: {
      liveKey: isLiveKey(config.STRIPE_API_KEY!),
      fulfilTrials: config.FULFIL_TRIALS,
      productIds: config.FULFILMENT_PRODUCT_IDS,
      optInField: config.FULFILMENT_OPT_IN_FIELD,
      emailTo: config.FULFILMENT_EMAIL_TO,
      emailFrom: config.EMAIL_FROM ?? "",
      templateId: config.SENDGRID_TEMPLATE_ID,
      leaseMs: config.ORDER_LEASE_SECONDS * 1000,
      deadlineMs: config.HANDLER_DEADLINE_MS,
      deadLetterSource: "cli",
    },
  }).operator;
}

export function reportMarker(
  sessionId: string,
  marker: OrderRecord["subscription_marker"] | null | undefined,
): void {
  if (marker?.state === "set") {
    console.log(`subscription of ${sessionId} marked ${SUBSCRIPTION_MARKER}=true`);
    return;
  }
  console.error(
    `could not mark the subscription of ${sessionId}: ${marker?.error ?? "unknown"}; set its metadata ${SUBSCRIPTION_MARKER}=true in Stripe by hand`,
  );
  process.exitCode = 1;
}
