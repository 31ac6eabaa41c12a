import { resolve } from "node:path";
import cookie from "@fastify/cookie";
import formbody from "@fastify/formbody";
import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import {
  type AccessControlConfig,
  type AccessControlDeps,
  registerAccessControl,
  signInOrigins,
} from "./access-control.js";
import type { Config } from "./config.js";
import { deadlinePlugin } from "./deadline.js";
import { ErrorPages } from "./error-pages.js";
import { homeRoutes } from "./home/routes.js";
import type { KeyRing } from "./keyring/index.js";
import { type RequestLogConfig, requestLogOptions } from "./request-log.js";
import { siteSecurityHeaders } from "./security-headers.js";
import { sheddingPlugin } from "./shedding.js";
import type { UsersRepository } from "./users/repository.js";
import { usersRoutes } from "./users/routes.js";
import { replyPagePlugin } from "./views/reply-page.js";

export interface AppDeps extends AccessControlDeps {
  readonly users: UsersRepository;
  readonly keyRing: KeyRing;
  readonly instanceId: string;
  /** Default: no logging (tests). server.ts passes the process logger. */
  readonly logger?: Logger;
}

/** `TRUST_PROXY` → Fastify's trustProxy: "false" trusts nobody, otherwise a list of addresses/CIDRs. */
export function parseTrustProxy(value: string): boolean | string {
  const trimmed = value.trim();
  if (trimmed === "" || trimmed === "false") return false;
  if (trimmed === "true") return true;
  return trimmed;
}

/** The static folder sits at ../public both from web/src/ and from the bundle's app/dist/. */
const PUBLIC_DIR = resolve(import.meta.dirname, "../public");

export type AppConfig = Pick<
  Config,
  | "TRUST_PROXY"
  | "BODY_LIMIT_BYTES"
  | "KEEP_ALIVE_TIMEOUT_MS"
  | "PAGE_SIZE"
  | "DEBUG_ROUTES"
  | "KEYRING_STORE"
  | "REQUEST_DEADLINE_MS"
  | "MAX_EVENT_LOOP_DELAY_MS"
> &
  AccessControlConfig &
  RequestLogConfig;

/** Builds the web app without listening, so tests drive it with inject() or listen on port 0. */
export async function buildApp(config: AppConfig, deps: AppDeps): Promise<FastifyInstance> {
  // The headers every response carries, however it leaves (see security-headers.ts for why
  // they are worked out once rather than by @fastify/helmet per request).
  const fixedHeaders = [
    ...siteSecurityHeaders(signInOrigins(config)),
    ["x-served-by", deps.instanceId],
  ] as const;
  const errorPages = new ErrorPages({
    instanceId: deps.instanceId,
    fixedHeaders,
    bodyLimit: config.BODY_LIMIT_BYTES,
  });
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    ...requestLogOptions(config),
    trustProxy: parseTrustProxy(config.TRUST_PROXY),
    bodyLimit: config.BODY_LIMIT_BYTES,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    // Slow or stalled clients must not hold a connection for ever.
    requestTimeout: 30_000,
    // Requests Node's parser refuses (headers over 16 KB, control characters) get a page too.
    clientErrorHandler: errorPages.clientErrorHandler,
    // A malformed %-escape (400) or an overlong id (414) is refused before routing, where no
    // hook or reply decorator runs.
    frameworkErrors: errorPages.frameworkErrors,
  }) as unknown as FastifyInstance;

  app.addHook("onRequest", (_request, reply, done) => {
    for (const [name, value] of fixedHeaders) reply.header(name, value);
    done();
  });

  await app.register(deadlinePlugin, { budgetMs: config.REQUEST_DEADLINE_MS });
  await app.register(sheddingPlugin, {
    maxEventLoopDelayMs: config.MAX_EVENT_LOOP_DELAY_MS,
    storeSaturated: () => deps.users.saturated,
  });
  await app.register(cookie);
  // Only HTML forms are accepted: anything else gets a 415 page instead of being half-parsed.
  app.removeAllContentTypeParsers();
  await app.register(formbody);
  await app.register(replyPagePlugin, { instanceId: deps.instanceId });
  // Before any plugin adds routes: Fastify binds a route to the error handler set when it is added.
  errorPages.install(app);
  await registerAccessControl(app, config, deps);
  await app.register(fastifyStatic, {
    root: PUBLIC_DIR,
    prefix: "/static/",
    maxAge: "1h",
    index: false,
  });

  await app.register(homeRoutes, {
    instanceId: deps.instanceId,
    users: deps.users,
    keyRing: deps.keyRing,
    keyStoreKind: config.KEYRING_STORE,
    debugRoutes: config.DEBUG_ROUTES,
  });
  await app.register(usersRoutes, { users: deps.users, pageSize: config.PAGE_SIZE });
  return app;
}
