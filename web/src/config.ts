import { z } from "zod";

/** "true"/"1"/"yes" and "false"/"0"/"no" (any case); anything else is an error naming the variable. */
const boolish = z
  .enum(["true", "false", "1", "0", "yes", "no", "TRUE", "FALSE", "True", "False"])
  .transform((v) => ["true", "1", "yes"].includes(v.toLowerCase()));

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === "" ? undefined : v))
  .optional();

/**
 * The one schema for every setting the web reads. Names match deploy/CONTRACT.md (what the EC2
 * bootstrap writes into /etc/fleetline/web.env) and what local/ sets for each instance.
 */
export const configSchema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    HOST: z.string().min(1).default("127.0.0.1"),
    PORT: z.coerce.number().int().min(0).max(65535).default(5000),
    /** Shown on pages and in `x-served-by`; else the EC2 instance id (IMDSv2), else the host name. */
    INSTANCE_ID: optionalText.pipe(z.string().max(128).optional()),
    EC2_METADATA_ENDPOINT: z.url().default("http://169.254.169.254"),
    AWS_REGION: z.string().min(1).default("us-east-1"),
    /** Set locally (dynalite); unset on AWS. When set, fake credentials are used. */
    DYNAMODB_ENDPOINT: optionalText.pipe(z.url().optional()),
    USERS_TABLE: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{3,255}$/, "3–255 letters, digits, '_', '-' or '.'")
      .default("Users"),
    PAGE_SIZE: z.coerce.number().int().min(1).max(100).default(20),
    KEYRING_STORE: z.enum(["memory", "file", "redis"]).default("file"),
    KEYRING_DIR: z.string().min(1).default(".fleetline/keys"),
    KEYRING_PREFIX: z.string().min(1).default("fleetline:keyring"),
    REDIS_URL: optionalText.pipe(
      z
        .string()
        .regex(/^rediss?:\/\//, "a redis:// or rediss:// URL")
        .optional(),
    ),
    /** SSM parameter holding the cache's `host:port` (the original's convention), read at start. */
    REDIS_ADDRESS_PARAMETER: optionalText,
    REDIS_TLS: boolish.default(false),
    REDIS_AUTH_TOKEN: optionalText,
    /** Secrets Manager secret whose string is the cache AUTH token, read at start. */
    REDIS_AUTH_SECRET_ID: optionalText,
    SSM_ENDPOINT: optionalText.pipe(z.url().optional()),
    SECRETS_MANAGER_ENDPOINT: optionalText.pipe(z.url().optional()),
    /** Addresses/CIDRs whose X-Forwarded-* headers are believed, comma separated; "false" trusts none. */
    TRUST_PROXY: z.string().default("127.0.0.1"),
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info"),
    LOG_DIR: optionalText,
    /**
     * Per-request lines: "all" (Fastify's two per request) or "notable" (4xx, 5xx and slow
     * requests only; web/src/request-log.ts). Default "notable" in production, else "all".
     */
    REQUEST_LOG: z.enum(["all", "notable"]).optional(),
    /** A request that takes at least this long is logged at warn level in "notable" mode. */
    SLOW_REQUEST_MS: z.coerce.number().int().min(1).default(1000),
    DEBUG_ROUTES: boolish.default(false),
    BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).max(1_048_576).default(32_768),
    /** Above the ALB's 60 s idle timeout, or the ALB may reuse a connection we just closed (502). */
    KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1000).default(65_000),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(25_000),
  })
  .superRefine((c, ctx) => {
    if (c.KEYRING_STORE === "redis" && !c.REDIS_URL && !c.REDIS_ADDRESS_PARAMETER) {
      ctx.addIssue({
        code: "custom",
        path: ["REDIS_URL"],
        message: "KEYRING_STORE=redis needs REDIS_URL or REDIS_ADDRESS_PARAMETER",
      });
    }
  })
  .transform((c) => ({
    ...c,
    REQUEST_LOG: c.REQUEST_LOG ?? (c.NODE_ENV === "production" ? "notable" : "all"),
  }));

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Validates the environment once, at the entry point. The only reader of process.env in web/.
 * Throws a ConfigError whose message names each bad variable and what was expected.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const name = issue.path.join(".") || "(environment)";
    const key = typeof issue.path[0] === "string" ? issue.path[0] : "";
    const value = env[key];
    // Never echo what might be a secret back into logs.
    const shown =
      value === undefined || /TOKEN|SECRET|PASSWORD/.test(key)
        ? ""
        : ` (got ${JSON.stringify(value.slice(0, 80))})`;
    return `  ${name}: ${issue.message}${shown}`;
  });
  throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
}
