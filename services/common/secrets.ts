import type { Env } from "./config.js";
import { ConfigError, errorMessage } from "./errors.js";

/** The one call we need from Secret Manager, so tests can inject a fake client. */
export interface SecretAccessor {
  accessSecretVersion(request: {
    name: string;
  }): Promise<readonly [{ payload?: { data?: Uint8Array | string | null } | null }, ...unknown[]]>;
}

const SECRET_PREFIX = "sm://";

/** `sm://NAME` → the latest version in `project`; `sm://projects/P/secrets/N/versions/V` as it is. */
export function secretVersionName(reference: string, project: string | undefined): string {
  const path = reference.slice(SECRET_PREFIX.length);
  if (/^projects\/[^/]+\/secrets\/[^/]+\/versions\/[^/]+$/.test(path)) return path;
  if (/^[A-Za-z0-9_-]+$/.test(path)) {
    if (!project) throw new Error(`cannot resolve ${reference}: GOOGLE_CLOUD_PROJECT is not set`);
    return `projects/${project}/secrets/${path}/versions/latest`;
  }
  throw new Error(`${reference} is not sm://NAME or sm://projects/P/secrets/NAME/versions/V`);
}

export function isSecretReference(value: string | undefined): value is string {
  return value !== undefined && value.startsWith(SECRET_PREFIX);
}

/**
 * Returns a copy of `env` with every `sm://` value replaced by the secret's payload.
 * Plain values pass through. The client is only built when a reference exists, so
 * local runs never touch Google credentials. Every failure is reported at once and
 * no secret value ever appears in an error.
 */
export async function resolveSecrets(
  service: string,
  env: Env,
  createClient: () => SecretAccessor | Promise<SecretAccessor>,
): Promise<Env> {
  const references = Object.entries(env).filter((entry): entry is [string, string] =>
    isSecretReference(entry[1]),
  );
  if (references.length === 0) return env;
  const client = await createClient();
  const resolved: Record<string, string | undefined> = { ...env };
  const problems: string[] = [];
  await Promise.all(
    references.map(async ([key, reference]) => {
      try {
        const name = secretVersionName(reference, env.GOOGLE_CLOUD_PROJECT);
        const [version] = await client.accessSecretVersion({ name });
        const data = version.payload?.data;
        if (data === undefined || data === null) throw new Error("secret version has no payload");
        // Secrets added with `echo` carry a trailing newline; it is never part of the value.
        resolved[key] = (typeof data === "string" ? data : Buffer.from(data).toString("utf8")).replace(
          /\r?\n$/,
          "",
        );
      } catch (err) {
        problems.push(`${key}: could not read secret ${reference}: ${errorMessage(err)}`);
      }
    }),
  );
  if (problems.length > 0) throw new ConfigError(service, problems.sort());
  return resolved;
}

/** The production client, loaded lazily so services that need no secrets never import it. */
export async function createSecretManagerClient(): Promise<SecretAccessor> {
  const { SecretManagerServiceClient } = await import("@google-cloud/secret-manager");
  return new SecretManagerServiceClient();
}
