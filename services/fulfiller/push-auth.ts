import { OAuth2Client } from "google-auth-library";
import { AppError } from "../common/errors.js";

export type PushAuthMode = "cloud-run" | "oidc" | "none";

export class PushAuthError extends AppError {
  readonly reason: string;
  /** Set when the refusal points at this deployment's set-up rather than at the caller. */
  readonly misconfiguration: string | undefined;
  constructor(status: 401 | 403, reason: string, misconfiguration?: string) {
    super(status === 401 ? "a bearer token is required" : "the push token is not accepted", {
      status,
      code: status === 401 ? "unauthenticated" : "forbidden",
    });
    this.reason = reason;
    this.misconfiguration = misconfiguration;
  }
}

/** What Cloud Run's invoker check puts where a verified token's signature was. */
export const CLOUD_RUN_REMOVED_SIGNATURE = "SIGNATURE_REMOVED_BY_GOOGLE";

export interface PushAuthOptions {
  mode: PushAuthMode;
  audience?: string | undefined;
  serviceAccount?: string | undefined;
  /** Google's v1 certs endpoint format ({kid: PEM}); tests serve their own. */
  certsUrl?: string | undefined;
  clock?: () => number;
}

export interface IdTokenClaims {
  aud?: unknown;
  email?: unknown;
  email_verified?: unknown;
  exp?: unknown;
  iss?: unknown;
}

/** Checks a push request's Authorization header; throws PushAuthError (401 missing, 403 otherwise). */
export type PushAuthenticator = (authorization: string | undefined) => Promise<void>;

function bearerToken(authorization: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!authorization) throw new PushAuthError(401, "no Authorization header");
  if (!match?.[1]) throw new PushAuthError(401, "Authorization is not a bearer token");
  return match[1];
}

/** The claims of a JWT whose signature Cloud Run has verified and then removed. */
export function decodeForwardedClaims(token: string): IdTokenClaims {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[1]) throw new PushAuthError(403, "token is not a JWT");
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    if (typeof claims !== "object" || claims === null) throw new Error("claims are not an object");
    return claims;
  } catch {
    throw new PushAuthError(403, "token claims are not JSON");
  }
}

/** The checks Google's library does not make: the push identity and its verified email. */
function checkIdentity(claims: IdTokenClaims, serviceAccount: string): void {
  if (claims.email !== serviceAccount)
    throw new PushAuthError(403, "token email is not the push service account");
  if (claims.email_verified !== true) throw new PushAuthError(403, "token email is not verified");
}

export function createPushAuthenticator(options: PushAuthOptions): PushAuthenticator {
  const clock = options.clock ?? Date.now;
  if (options.mode === "none") return async () => {};
  const { audience, serviceAccount } = options;
  if (!audience || !serviceAccount)
    throw new Error(`PUSH_AUTH=${options.mode} needs PUSH_AUDIENCE and PUSH_SERVICE_ACCOUNT`);

  if (options.mode === "cloud-run") {
    // eslint-disable-next-line @typescript-eslint/require-await -- synchronous checks behind the async interface
    return async (authorization) => {
      const token = bearerToken(authorization);
      const claims = decodeForwardedClaims(token);
      // Only Cloud Run's invoker check, having verified the token, removes its signature.
      // Any other signature means that check is off and nobody verified it: the claims
      // could be forged by anyone who can reach the service.
      if (token.split(".")[2] !== CLOUD_RUN_REMOVED_SIGNATURE) {
        throw new PushAuthError(
          403,
          "token signature was not removed by Cloud Run",
          "PUSH_AUTH=cloud-run, but the push token arrived with its signature intact, so Cloud Run's invoker check is off and nothing verified it. Turn the invoker check on (invoker_iam_disabled = false), or set PUSH_AUTH=oidc to verify tokens in the service.",
        );
      }
      const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!audiences.includes(audience))
        throw new PushAuthError(403, "token audience does not match PUSH_AUDIENCE");
      checkIdentity(claims, serviceAccount);
      if (typeof claims.exp !== "number" || claims.exp * 1000 <= clock()) {
        throw new PushAuthError(403, "token expired");
      }
    };
  }

  const client = new OAuth2Client(
    options.certsUrl ? { endpoints: { oauth2FederatedSignonPemCertsUrl: options.certsUrl } } : {},
  );
  return async (authorization) => {
    const idToken = bearerToken(authorization);
    let claims: IdTokenClaims | undefined;
    try {
      const ticket = await client.verifyIdToken({ idToken, audience });
      claims = ticket.getPayload();
    } catch (err) {
      throw new PushAuthError(
        403,
        `token does not verify: ${err instanceof Error ? err.message.split("\n")[0] : "invalid"}`,
      );
    }
    if (!claims) throw new PushAuthError(403, "token has no claims");
    checkIdentity(claims, serviceAccount);
  };
}
