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

/** A duration in milliseconds within [min, max]. */
const ms = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** 127.0.0.1, ::1 or localhost: where plain-http OpenID is acceptable (a provider on this machine). */
export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === "127.0.0.1" ||
    hostname === "localhost" ||
    hostname === "[::1]" ||
    hostname === "::1"
  );
}

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
    /**
     * Total time one incoming request may spend waiting on DynamoDB, retries included, counted
     * from the moment its body has been read (a slow upload is bounded by Node's requestTimeout);
     * past it the page is the 503 "store unavailable" page. Below nginx's 30 s and the ALB's 60 s,
     * so the user sees our page, not a proxy's 504.
     */
    REQUEST_DEADLINE_MS: ms(100, 30_000).default(3000),
    /** One DynamoDB attempt (connect, send, first byte of the answer); the socket is destroyed after it. */
    DYNAMODB_ATTEMPT_TIMEOUT_MS: ms(50, 30_000).default(1000),
    /** TCP connect to DynamoDB. */
    DYNAMODB_CONNECT_TIMEOUT_MS: ms(50, 30_000).default(1000),
    /** Attempts per DynamoDB call (the SDK's standard retry, with backoff), inside REQUEST_DEADLINE_MS. */
    DYNAMODB_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
    /** Store calls in flight on this instance above which new requests are shed (503 + Retry-After). */
    MAX_STORE_CALLS_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(100),
    /** Mean event-loop delay above which requests are shed (503 + Retry-After); 0 turns it off. */
    MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
    /**
     * Everything read from AWS at start (SSM parameter, Secrets Manager secret) must be read
     * within this, retries included, or the process exits with an error saying what it waited for.
     */
    STARTUP_DEADLINE_MS: ms(100, 300_000).default(15_000),
    /** One attempt of a start-up read from SSM or Secrets Manager. */
    STARTUP_ATTEMPT_TIMEOUT_MS: ms(50, 60_000).default(2000),
    /** Reject a Redis command (queued or sent) with no answer after this long. */
    REDIS_COMMAND_TIMEOUT_MS: ms(10, 60_000).default(1000),
    /** Give up one Redis connection attempt (TCP, TLS and the ready check) after this long. */
    REDIS_CONNECT_TIMEOUT_MS: ms(10, 60_000).default(2000),
    /**
     * The OpenID provider operators sign in with (Cognito on AWS, the local provider under
     * `npm start`). Unset: nobody can sign in and every page but the public ones is refused.
     */
    OIDC_ISSUER: optionalText.pipe(z.url().optional()),
    /** The app client's id; a public client with PKCE, so there is no secret to configure. */
    OIDC_CLIENT_ID: optionalText,
    /**
     * Cognito's `/logout` address: sign-out sends the browser there with `client_id` and
     * `logout_uri` (Cognito lists it as end_session_endpoint but does not take RP-Initiated
     * Logout's parameters), and the CSP lets the sign-out form lead there. Unset: the discovered
     * end_session_endpoint, if any, with the standard parameters.
     */
    OIDC_LOGOUT_URL: optionalText.pipe(z.url().optional()),
    /**
     * Origins browsers reach the site at, comma separated (`https://d111.cloudfront.net`). The
     * first builds the sign-in callback `<origin>/auth/callback`; POSTs whose Origin is not one of
     * them are refused. Unset: every POST carrying an Origin is refused.
     */
    PUBLIC_ORIGIN: z
      .string()
      .default("")
      .transform((v, ctx) => {
        const origins: string[] = [];
        for (const part of v.split(",")) {
          const item = part.trim();
          if (item === "") continue;
          let url: URL;
          try {
            url = new URL(item);
          } catch {
            ctx.addIssue({ code: "custom", message: `${JSON.stringify(item)} is not a URL` });
            return z.NEVER;
          }
          if (
            (url.protocol !== "https:" && url.protocol !== "http:") ||
            url.origin !== item.replace(/\/$/, "")
          ) {
            ctx.addIssue({
              code: "custom",
              message: `${JSON.stringify(item)} is not an origin (scheme://host[:port], no path)`,
            });
            return z.NEVER;
          }
          origins.push(url.origin);
        }
        return origins;
      }),
    /**
     * Sign sessions with a file key ring in this directory instead of the main ring. Only for
     * `npm start -- --keyring memory`, which keeps the anti-forgery keys per instance on purpose
     * (the original's bug) yet must let the operator stay signed in across instances. Unset on AWS.
     */
    SESSION_KEYRING_DIR: optionalText,
    /** Absolute lifetime of a sign-in, counted from the moment the provider vouched for the operator. */
    SESSION_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .default(8 * 3600),
    /** How long a form's anti-forgery token is accepted after the page was served. */
    ANTIFORGERY_TOKEN_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(86_400)
      .default(4 * 3600),
    /** Sign-in attempts (GET /auth/sign-in and /auth/callback) per client per window. */
    RATE_LIMIT_SIGN_IN_MAX: z.coerce.number().int().min(1).default(20),
    /** State-changing requests (POST…) per client per window. */
    RATE_LIMIT_WRITE_MAX: z.coerce.number().int().min(1).default(120),
    RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  })
  .superRefine((c, ctx) => {
    if (c.DYNAMODB_ATTEMPT_TIMEOUT_MS > c.REQUEST_DEADLINE_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["DYNAMODB_ATTEMPT_TIMEOUT_MS"],
        message: `must not exceed REQUEST_DEADLINE_MS (${c.REQUEST_DEADLINE_MS})`,
      });
    }
    if (c.STARTUP_ATTEMPT_TIMEOUT_MS > c.STARTUP_DEADLINE_MS) {
      ctx.addIssue({
        code: "custom",
        path: ["STARTUP_ATTEMPT_TIMEOUT_MS"],
        message: `must not exceed STARTUP_DEADLINE_MS (${c.STARTUP_DEADLINE_MS})`,
      });
    }
    if (c.KEYRING_STORE === "redis" && !c.REDIS_URL && !c.REDIS_ADDRESS_PARAMETER) {
      ctx.addIssue({
        code: "custom",
        path: ["REDIS_URL"],
        message: "KEYRING_STORE=redis needs REDIS_URL or REDIS_ADDRESS_PARAMETER",
      });
    }
    if (c.OIDC_ISSUER !== undefined) {
      if (c.OIDC_CLIENT_ID === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["OIDC_CLIENT_ID"],
          message: "OIDC_ISSUER needs OIDC_CLIENT_ID",
        });
      }
      if (c.PUBLIC_ORIGIN.length === 0) {
        ctx.addIssue({
          code: "custom",
          path: ["PUBLIC_ORIGIN"],
          message: "OIDC_ISSUER needs PUBLIC_ORIGIN (the callback is <first origin>/auth/callback)",
        });
      }
      // Plain http only for a provider on this machine (the local one): anywhere else the
      // provider's answers, tokens included, would travel in clear text.
      const issuer = new URL(c.OIDC_ISSUER);
      if (issuer.protocol !== "https:" && !isLoopbackHost(issuer.hostname)) {
        ctx.addIssue({
          code: "custom",
          path: ["OIDC_ISSUER"],
          message: "must be https:// (http:// only for 127.0.0.1 or localhost)",
        });
      }
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

/** Every setting's name: the environment variables of deploy/CONTRACT.md. */
export type WebSettingName = keyof z.input<typeof configSchema>;

/**
 * Settings as code writes them, by their environment names: numbers and booleans as such,
 * lists (PUBLIC_ORIGIN) as arrays. What local/, the rehearsal, bench and tests start a web with.
 */
export type WebSettings = {
  readonly [K in WebSettingName]?: string | number | boolean | readonly string[] | undefined;
};

/**
 * The environment a web process gets for `settings`: values as text, lists comma-joined, unset
 * ones left out (the schema's defaults apply). Validated by the schema the web itself starts
 * with, so a bad setting is a ConfigError in the caller rather than a child that exits at start.
 */
export function webEnv(settings: WebSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    env[name] = Array.isArray(value) ? value.join(",") : String(value);
  }
  loadConfig(env);
  return env;
}
