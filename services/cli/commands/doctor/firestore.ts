/** `doctor`'s Firestore checks: the database answers, the TTL policy, orders in review or undelivered. */
import type { Firestore } from "@google-cloud/firestore";
import type { FirestoreOrderStore } from "../../../fulfiller/adapters/firestore-order-store.js";
import type { DoctorConfig } from "./config.js";
import { check, ok, problem, skipped, type CheckResult } from "./results.js";

export async function checkFirestore(
  results: CheckResult[],
  db: Firestore,
  store: FirestoreOrderStore,
  c: DoctorConfig,
): Promise<void> {
  await check(
    results,
    "firestore",
    async () => {
      await store.list({ limit: 1 });
      return ok(`Firestore answers (project ${c.GOOGLE_CLOUD_PROJECT})`);
    },
    "check the database exists (terraform apply) and the caller has roles/datastore.user",
  );
  await check(
    results,
    "firestore ttl",
    async () => {
      if (c.FIRESTORE_EMULATOR_HOST)
        return skipped("TTL policy on stripe_events.expire_at", "the emulator has no TTL policies");
      // The admin client is a lazy CommonJS export: not a named ESM export.
      const FirestoreModule = (await import("@google-cloud/firestore")).default;
      const { EVENTS } = await import("../../../fulfiller/adapters/firestore-order-store.js");
      const admin = new FirestoreModule.v1.FirestoreAdminClient();
      try {
        const [field] = await admin.getField({
          name: `projects/${c.GOOGLE_CLOUD_PROJECT}/databases/(default)/collectionGroups/${EVENTS}/fields/expire_at`,
        });
        const state = String(field.ttlConfig?.state ?? "none");
        return state === "ACTIVE" || state === "CREATING"
          ? ok(`TTL policy on ${EVENTS}.expire_at is ${state}`)
          : problem(
              `no active TTL policy on ${EVENTS}.expire_at (${state}): the event ledger grows for ever`,
              "terraform apply (firestore.tf stripe_events_ttl)",
            );
      } finally {
        await admin.close();
      }
    },
    "check the caller may read Firestore's indexes (roles/datastore.indexViewer)",
  );
  await check(
    results,
    "orders",
    async () => {
      const review = await store.list({ status: "needs_review", limit: 100 });
      const undelivered = await store.list({ undelivered: true, limit: 100 });
      return [
        review.length === 0
          ? ok("no order needs review")
          : problem(
              `${review.length} order(s) need review (an email may or may not have gone out)`,
              "npm run cli -- orders list --status needs_review; then orders resolve ID --sent or --resend",
            ),
        undelivered.length === 0
          ? ok("no undelivered order email")
          : problem(
              `${undelivered.length} order email(s) bounced or were dropped`,
              "npm run cli -- orders list --undelivered; fix the address, then orders resend ID --undelivered",
            ),
      ];
    },
    "check the (status, updated_at) and (email.delivery.state, updated_at) indexes exist (terraform apply)",
  );
}
