import * as v from "valibot";
import { ConfigError } from "./errors.js";

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Validates `env` against `schema` once, at start-up. Every problem is listed in a
 * single ConfigError naming the variable, so an operator fixes them in one go.
 * Empty strings count as unset: Terraform and shells often export `VAR=`.
 *
 * valibot rather than a larger schema library: it loads in a few milliseconds where zod
 * took 35 to 85 on this machine, on every service's and the CLI's start (docs/BENCHMARKS.md).
 */
export function parseConfig<S extends v.GenericSchema>(
  service: string,
  schema: S,
  env: Env,
): v.InferOutput<S> {
  const cleaned: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") cleaned[key] = value;
  }
  // Every variable present, unset ones as undefined: then a missing one is checked by its
  // own schema, and a schema that says why it is required is heard.
  for (const key of Object.keys((schema as { entries?: object }).entries ?? {})) cleaned[key] ??= undefined;
  const result = v.safeParse(schema, cleaned, {
    // Where the schema wrote no message: never the library's own, which quotes the value
    // (a secret, possibly).
    message: (issue) => (issue.input === undefined ? "is required" : "is not valid"),
  });
  if (result.success) return result.output;
  const problems = result.issues.map(
    (issue) => `${v.getDotPath(issue) ?? "(environment)"}: ${issue.message}`,
  );
  throw new ConfigError(service, problems);
}

/** One of `options`, the message listing them (and not echoing the value given). */
export const oneOf = <const T extends readonly [string, ...string[]]>(options: T) =>
  v.picklist(options, `must be one of ${options.join(", ")}`);

/** A whole number written in decimal digits, within `min`..`max`. */
const wholeNumber = (min: number, max: number, message: string) =>
  v.pipe(
    v.string(),
    v.trim(),
    v.regex(/^\d{1,15}$/, message),
    v.transform(Number),
    v.number(),
    v.minValue(min, message),
    v.maxValue(max, message),
  );

/** Comma-separated values, trimmed; blanks removed. */
const splitList = (value: string) =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** Reusable field schemas (values arrive as strings from the environment). */
export const fields = {
  /** 0 binds any free port (tests read the bound port back from the "ready" log line). */
  port: (fallback: number) =>
    v.optional(wholeNumber(0, 65535, "must be a port number from 0 to 65535"), String(fallback)),
  positiveInt: (fallback: number) =>
    v.optional(wholeNumber(1, Number.MAX_SAFE_INTEGER, "must be a whole number above 0"), String(fallback)),
  /** A rate such as 20 or 0.5: decimal digits, above 0, at most `max`. */
  positiveRate: (fallback: number, max = 10_000) =>
    v.optional(
      v.pipe(
        v.string(),
        v.trim(),
        v.regex(/^\d{1,9}(\.\d{1,6})?$/, `must be a number above 0 and at most ${max}, such as 20 or 0.5`),
        v.transform(Number),
        v.number(),
        v.check((n) => n > 0 && n <= max, `must be a number above 0 and at most ${max}, such as 20 or 0.5`),
      ),
      String(fallback),
    ),
  /** An HMAC key: at least 32 characters (`openssl rand -base64 32`), optional. */
  hmacKey: () =>
    v.optional(
      v.pipe(
        v.string(),
        v.minLength(32, "must be at least 32 characters (openssl rand -base64 32 makes one)"),
      ),
    ),
  boolean: (fallback: boolean) =>
    v.pipe(
      v.optional(
        v.picklist(["true", "false", "1", "0", "yes", "no"], "must be true or false"),
        fallback ? "true" : "false",
      ),
      v.transform((value) => value === "true" || value === "1" || value === "yes"),
    ),
  /** Comma-separated list; blanks removed; at least one value. */
  list: () =>
    v.pipe(
      v.string(),
      v.transform(splitList),
      v.array(v.string()),
      v.minLength(1, "must name at least one value"),
    ),
  /** Comma-separated list; blanks removed; unset is empty. */
  optionalList: () => v.pipe(v.optional(v.string(), ""), v.transform(splitList)),
  /** An http(s) URL: `localhost:8080` parses as a URL with the scheme `localhost:`, and is refused. */
  url: () =>
    v.pipe(
      v.string(),
      v.check(
        (value) => /^https?:$/.test(URL.parse(value)?.protocol ?? ""),
        "must be an http(s) URL such as http://127.0.0.1:12111",
      ),
    ),
  hostPort: () =>
    v.pipe(v.string(), v.regex(/^[^\s:/]+:\d{1,5}$/, "must be host:port such as 127.0.0.1:8085")),
  email: () => v.pipe(v.string(), v.regex(EMAIL, "must be an email address")),
  /** Email addresses, comma-separated; at least one. */
  emails: () =>
    v.pipe(
      fields.list(),
      v.check(
        (list) => list.every((address) => EMAIL.test(address)),
        "must be email addresses, comma-separated",
      ),
    ),
  /**
   * Stripe webhook signing secrets, comma-separated. A bare `whsec_` is a publicly known
   * HMAC key, and Stripe issues 32 characters after the prefix: anything under 16 is a
   * placeholder or a typo, and anyone could sign events with it.
   */
  webhookSecrets: () =>
    v.pipe(
      fields.list(),
      v.check(
        (secrets) => secrets.every(isWebhookSecret),
        `every comma-separated value must be a webhook signing secret: whsec_ followed by at least ${MIN_WEBHOOK_SECRET_CHARS} characters`,
      ),
    ),
  stripeKey: () =>
    v.pipe(
      v.string(),
      v.regex(/^(sk|rk)_(test|live)_\S+$/, "must be a Stripe secret (sk_) or restricted (rk_) key"),
    ),
  /** Stripe product ids, comma-separated: a price id or a typo would match no line item and skip every order. */
  productIds: () =>
    v.pipe(
      fields.optionalList(),
      v.check(
        (ids) => ids.every((id) => PRODUCT_ID.test(id)),
        (issue) =>
          `must be Stripe product ids (prod_…), comma-separated; not product ids: ${issue.input
            .filter((id) => !PRODUCT_ID.test(id))
            .join(", ")}`,
      ),
    ),
} as const;

const PRODUCT_ID = /^prod_[A-Za-z0-9]+$/;
const MIN_WEBHOOK_SECRET_CHARS = 16;
const WEBHOOK_SECRET = new RegExp(`^whsec_\\S{${MIN_WEBHOOK_SECRET_CHARS},}$`);
export const isWebhookSecret = (secret: string): boolean => WEBHOOK_SECRET.test(secret);
/**
 * An address SendGrid can send to: dot-separated parts of letters, digits and `_ ' + -`,
 * and a domain with a top-level part (`o'brien@example.com` yes, `orders@localhost` and
 * `a..b@example.com` no). The pattern zod's `email()` used, kept when moving to valibot,
 * whose own refuses the apostrophe.
 */
const EMAIL =
  /^(?:[A-Za-z0-9_'+-]+\.)*[A-Za-z0-9_'+-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9-]*\.)+[A-Za-z]{2,}$/;
