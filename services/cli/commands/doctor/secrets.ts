/** `doctor`'s secret checks: each secret resolves (Secret Manager or plain) and has the right shape. */
import * as v from "valibot";
import { errorMessage } from "../../../common/errors.js";
import { fields, type Env } from "../../../common/config.js";
import { createSecretManagerClient, isSecretReference, resolveSecrets } from "../../../common/secrets.js";
import { ok, problem, type Outcome } from "./results.js";

const STRIPE_KEY = fields.stripeKey();
const WEBHOOK_SECRETS = fields.webhookSecrets();
export const SECRETS = {
  STRIPE_API_KEY: {
    valid: (value: string) => v.is(STRIPE_KEY, value),
    shape: "a Stripe secret (sk_) or restricted (rk_) key",
  },
  STRIPE_WEBHOOK_SECRET: {
    valid: (value: string) => v.is(WEBHOOK_SECRETS, value),
    shape: "webhook signing secrets (whsec_ and at least 16 characters), comma-separated",
  },
  SENDGRID_API_KEY: { valid: (value: string) => value.trim().length > 0, shape: "a SendGrid API key" },
} as const;
export type SecretName = keyof typeof SECRETS;

/** Resolves each secret on its own, so one that does not resolve is one problem line. */
export async function resolveSecret(
  env: Env,
  name: SecretName,
): Promise<{ value?: string; result: Outcome }> {
  const raw = env[name];
  if (!raw?.trim())
    return { result: problem(`${name} is not set`, `set ${name} (an sm://SECRET reference in production)`) };
  let value = raw;
  if (isSecretReference(raw)) {
    try {
      const resolved = await resolveSecrets(
        "doctor",
        { GOOGLE_CLOUD_PROJECT: env.GOOGLE_CLOUD_PROJECT, [name]: raw },
        createSecretManagerClient,
      );
      value = resolved[name] ?? "";
    } catch (err) {
      return {
        result: problem(
          `${name}: ${raw} does not resolve: ${errorMessage(err).split("\n").slice(-1)[0]?.trim()}`,
          `add a version (gcloud secrets versions add SECRET --data-file=-) and grant this identity secretmanager.secretAccessor on it`,
        ),
      };
    }
  }
  if (!SECRETS[name].valid(value))
    return {
      value,
      result: problem(`${name} is not ${SECRETS[name].shape}`, `store ${SECRETS[name].shape} in ${name}`),
    };
  return {
    value,
    result: ok(`${name} ${isSecretReference(raw) ? `resolves (${raw})` : "is set"}`),
  };
}
