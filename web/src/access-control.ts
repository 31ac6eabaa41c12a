import type { FastifyInstance } from "fastify";
import type { Redis } from "ioredis";
import { antiforgeryPlugin } from "./antiforgery/plugin.js";
import { authPlugin } from "./auth/plugin.js";
import { RelyingParty } from "./auth/relying-party.js";
import type { Config } from "./config.js";
import type { KeyRing } from "./keyring/index.js";
import { rateLimitPlugin } from "./rate-limit.js";

export type AccessControlConfig = Pick<
  Config,
  | "KEYRING_PREFIX"
  | "OIDC_ISSUER"
  | "OIDC_CLIENT_ID"
  | "OIDC_LOGOUT_URL"
  | "PUBLIC_ORIGIN"
  | "SESSION_TTL_SECONDS"
  | "ANTIFORGERY_TOKEN_TTL_SECONDS"
  | "RATE_LIMIT_SIGN_IN_MAX"
  | "RATE_LIMIT_WRITE_MAX"
  | "RATE_LIMIT_WINDOW_SECONDS"
>;

export interface AccessControlDeps {
  /** Signs anti-forgery tokens. */
  readonly keyRing: KeyRing;
  /** Signs sessions and sign-in flows; default `keyRing` (differs only under SESSION_KEYRING_DIR). */
  readonly sessionKeyRing?: KeyRing | undefined;
  /** The key ring's Redis client, when it has one: rate limits are then counted fleet-wide. */
  readonly rateLimitRedis?: Redis | undefined;
}

/** Origins a form may lead to besides ours (the provider's logout, after POST /auth/sign-out). */
export function signInOrigins(config: AccessControlConfig): string[] {
  return [config.OIDC_ISSUER, config.OIDC_LOGOUT_URL].flatMap((u) =>
    u ? [new URL(u).origin] : [],
  );
}

/**
 * Who may do what, in the order it must run for every request: the abuse limits first (a
 * refused request costs one counter and reads no body), then who is signed in (the gate), then
 * the anti-forgery check that binds to that session.
 */
export async function registerAccessControl(
  app: FastifyInstance,
  config: AccessControlConfig,
  deps: AccessControlDeps,
): Promise<void> {
  await app.register(rateLimitPlugin, {
    signInMax: config.RATE_LIMIT_SIGN_IN_MAX,
    writeMax: config.RATE_LIMIT_WRITE_MAX,
    windowSeconds: config.RATE_LIMIT_WINDOW_SECONDS,
    redis: deps.rateLimitRedis,
    redisPrefix: `${config.KEYRING_PREFIX}:ratelimit:`,
  });
  const publicOrigin = config.PUBLIC_ORIGIN[0];
  await app.register(authPlugin, {
    keyRing: deps.sessionKeyRing ?? deps.keyRing,
    relyingParty:
      config.OIDC_ISSUER !== undefined && config.OIDC_CLIENT_ID !== undefined && publicOrigin
        ? new RelyingParty({
            issuer: config.OIDC_ISSUER,
            clientId: config.OIDC_CLIENT_ID,
            redirectUri: `${publicOrigin}/auth/callback`,
            postLogoutRedirectUri: `${publicOrigin}/`,
            logoutUrl: config.OIDC_LOGOUT_URL,
          })
        : undefined,
    sessionTtlSeconds: config.SESSION_TTL_SECONDS,
    secureCookies: publicOrigin?.startsWith("https:") ?? false,
    publicOrigin,
  });
  await app.register(antiforgeryPlugin, {
    keyRing: deps.keyRing,
    allowedOrigins: config.PUBLIC_ORIGIN,
    tokenTtlSeconds: config.ANTIFORGERY_TOKEN_TTL_SECONDS,
  });
}
