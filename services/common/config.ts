import { z } from "zod";
import { ConfigError } from "./errors.js";

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Validates `env` against `schema` once, at start-up. Every problem is listed in a
 * single ConfigError naming the variable, so an operator fixes them in one go.
 * Empty strings count as unset: Terraform and shells often export `VAR=`.
 */
export function parseConfig<S extends z.ZodType>(service: string, schema: S, env: Env): z.output<S> {
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") cleaned[key] = value;
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join(".") || "(environment)";
    // A missing variable: zod's default wording becomes "is required"; a message the
    // schema wrote for this case (why it is required) is shown as written.
    const message =
      issue.code === "invalid_type" && issue.input === undefined && issue.message.startsWith("Invalid input")
        ? "is required"
        : issue.message;
    return `${name}: ${message}`;
  });
  throw new ConfigError(service, problems);
}

/** Reusable field schemas (values arrive as strings from the environment). */
export const fields = {
  /** 0 binds any free port (tests read the bound port back from the "ready" log line). */
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  boolean: (fallback: boolean) =>
    z
      .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
      .default(fallback ? "true" : "false")
      .transform((v) => v === "true" || v === "1" || v === "yes"),
  /** Comma-separated list; blanks removed. */
  list: () =>
    z
      .string()
      .transform((v) =>
        v
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      )
      .pipe(z.array(z.string()).min(1, "must name at least one value")),
  optionalList: () =>
    z
      .string()
      .optional()
      .transform((v) =>
        (v ?? "")
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s.length > 0),
      ),
  url: () => z.url({ message: "must be a URL such as http://127.0.0.1:12111" }),
  hostPort: () => z.string().regex(/^[^\s:/]+:\d{1,5}$/, "must be host:port such as 127.0.0.1:8085"),
  email: () => z.email({ message: "must be an email address" }),
  /** Stripe product ids, comma-separated: a price id or a typo would match no line item and skip every order. */
  productIds: () =>
    fields.optionalList().superRefine((ids, ctx) => {
      const bad = ids.filter((id) => !/^prod_[A-Za-z0-9]+$/.test(id));
      if (bad.length)
        ctx.addIssue({
          code: "custom",
          message: `must be Stripe product ids (prod_…), comma-separated; not product ids: ${bad.join(", ")}`,
        });
    }),
} as const;

export const projectIdField = z
  .string({ message: "is required (Cloud Run does not set it; Terraform does)" })
  .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a Google Cloud project id");

/** A loose project id for the emulators, where any non-empty id works. */
export const emulatorProjectIdField = z.string().min(1);
