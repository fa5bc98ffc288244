import { OAuth2Client } from "google-auth-library";
import { AppError } from "../../common/errors.js";

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

/** The two headers a push request can carry its token in. */
export interface PushAuthHeaders {
  authorization?: string | undefined;
  /** Cloud Run's own header: when present, Cloud Run verified it and not `Authorization`. */
  serverlessAuthorization?: string | undefined;
}

/** Checks a push request's token; throws PushAuthError (401 missing, 403 otherwise). */
export type PushAuthenticator = (headers: PushAuthHeaders) => Promise<void>;

function bearerToken(header: string | undefined, name: string): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!header) throw new PushAuthError(401, `no ${name} header`);
  if (!match?.[1]) throw new PushAuthError(401, `${name} is not a bearer token`);
  return match[1];
}

/**
 * google-auth-library's messages quote the token or its claims ("Token used too late,
 * …: {payload}"): the log gets a fixed reason instead, never a part of the token.
 */
const VERIFY_REASONS: [RegExp, string][] = [
  [/^Wrong number of segments|^Can't parse token/, "token is not a JWT"],
  [/^No pem found/, "token is signed by a key Google does not list"],
  [/^Invalid token signature/, "token signature does not verify"],
  [/^No issue time|^No expiration time|field using invalid format/, "token has no valid iat or exp"],
  [/^Expiration time too far in future/, "token expiry is too far in the future"],
  [/^Token used too early/, "token is not valid yet"],
  [/^Token used too late/, "token expired"],
  [/^Invalid issuer/, "token issuer is not Google"],
  [/^Wrong recipient/, "token audience does not match PUSH_AUDIENCE"],
];

export function verifyFailureReason(err: unknown): string {
  const message = err instanceof Error ? err.message : "";
  return VERIFY_REASONS.find(([pattern]) => pattern.test(message))?.[1] ?? "token does not verify";
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
    return async ({ authorization, serverlessAuthorization }) => {
      // Cloud Run verifies X-Serverless-Authorization when a request carries it and then
      // passes Authorization through untouched: an invoker could send its own real token
      // there beside a hand-made one that claims to be the push account. So the claims
      // come from the header Cloud Run verified, never from the other.
      const token =
        serverlessAuthorization === undefined
          ? bearerToken(authorization, "Authorization")
          : bearerToken(serverlessAuthorization, "X-Serverless-Authorization");
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
  return async ({ authorization }) => {
    // Here Cloud Run checks nothing: the token Pub/Sub sent is verified in full.
    const idToken = bearerToken(authorization, "Authorization");
    let claims: IdTokenClaims | undefined;
    try {
      const ticket = await client.verifyIdToken({ idToken, audience });
      claims = ticket.getPayload();
    } catch (err) {
      throw new PushAuthError(403, verifyFailureReason(err));
    }
    if (!claims) throw new PushAuthError(403, "token has no claims");
    checkIdentity(claims, serviceAccount);
  };
}
