import rateLimit, { normalizeIP } from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { Redis } from "ioredis";

export interface RateLimitOptions {
  /** Sign-in attempts (GET /auth/sign-in, /auth/callback) per client per window. */
  readonly signInMax: number;
  /** State-changing requests (anything but GET/HEAD/OPTIONS) per client per window. */
  readonly writeMax: number;
  readonly windowSeconds: number;
  /**
   * The key ring's Redis client: counts are then shared by the whole fleet, so N instances do
   * not multiply the allowance. Undefined: counted in this process only.
   */
  readonly redis?: Redis | undefined;
  /** Prefix of the Redis counters; default "fleetline:ratelimit:". */
  readonly redisPrefix?: string;
}

/** Thrown when a client is over its allowance; rendered as a 429 page by errors.ts. */
export class RateLimitedError extends Error {
  override readonly name = "RateLimitedError";
  readonly statusCode = 429;
  constructor(
    readonly kind: "sign-in" | "write",
    readonly retryAfterSeconds: number,
  ) {
    super(`rate limited: ${kind}`);
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const SIGN_IN_ROUTES = new Set(["/auth/sign-in", "/auth/callback"]);

function kindOf(request: FastifyRequest): "sign-in" | "write" | undefined {
  if (SIGN_IN_ROUTES.has(request.routeOptions.url ?? "")) return "sign-in";
  if (!SAFE_METHODS.has(request.method)) return "write";
  return undefined;
}

/**
 * Per-client limits with @fastify/rate-limit, checked in onRequest: before the body is read
 * and before any route runs, so a refused request stores nothing. The client is `request.ip`
 * (an IPv6 one by its /64), which Fastify resolves through the TRUST_PROXY chain: a client cannot pick its own bucket
 * with a header unless it is one of the trusted proxies.
 *
 * One limiter with two buckets per client (key prefix), because the plugin marks a request as
 * counted after its first limiter, so a second limiter would never see it.
 */
async function limits(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    hook: "onRequest",
    enableDraftSpec: true, // ratelimit-limit / -remaining / -reset, and retry-after
    ...(options.redis !== undefined && {
      redis: options.redis,
      nameSpace: options.redisPrefix ?? "fleetline:ratelimit:",
    }),
    // A cache outage must not take every form down with it: the key ring already serves from
    // its cached keys then, and the limiter lets requests through (the outage is logged by the
    // key ring's client and shown by /health/ready).
    skipOnError: true,
  });
  const handler = app.rateLimit({
    timeWindow: options.windowSeconds * 1000,
    // IPv6 clients by /64 (the plugin's default): one host usually holds a whole /64.
    keyGenerator: (request) => `${kindOf(request) ?? "none"}:${normalizeIP(request.ip)}`,
    allowList: (request) => kindOf(request) === undefined,
    max: (_request, key) => (key.startsWith("sign-in:") ? options.signInMax : options.writeMax),
    errorResponseBuilder: (request, context) => {
      const kind = kindOf(request) ?? "write";
      request.log.warn({ client: request.ip, kind, max: context.max }, "rate limited");
      return new RateLimitedError(kind, Math.max(1, Math.ceil(context.ttl / 1000)));
    },
  });
  app.addHook("onRequest", handler);
}

export const rateLimitPlugin = fp(limits, { name: "rate-limits", dependencies: ["reply-page"] });
