import { resolve } from "node:path";
import cookie from "@fastify/cookie";
import formbody from "@fastify/formbody";
import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import type { Logger } from "pino";
import {
  type AccessControlConfig,
  type AccessControlDeps,
  registerAccessControl,
  signInOrigins,
} from "./access-control.js";
import { clientErrorPage } from "./client-error-page.js";
import type { Config } from "./config.js";
import { deadlinePlugin } from "./deadline.js";
import { installErrorHandling } from "./errors.js";
import { homeRoutes } from "./home/routes.js";
import type { KeyRing } from "./keyring/index.js";
import { type RequestLogConfig, requestLogOptions } from "./request-log.js";
import { siteSecurityHeaders } from "./security-headers.js";
import { sheddingPlugin } from "./shedding.js";
import type { UsersRepository } from "./users/repository.js";
import { usersRoutes } from "./users/routes.js";
import { page } from "./views/layout.js";
import { refusedBody } from "./views/refused.js";
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
  const siteHeaders = siteSecurityHeaders(signInOrigins(config));
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    ...requestLogOptions(config),
    trustProxy: parseTrustProxy(config.TRUST_PROXY),
    bodyLimit: config.BODY_LIMIT_BYTES,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    // Slow or stalled clients must not hold a connection for ever.
    requestTimeout: 30_000,
    // Requests Node's parser refuses (headers over 16 KB, control characters) get a page too.
    clientErrorHandler: clientErrorPage(deps.instanceId, siteHeaders),
    // A malformed %-escape (400) or an overlong id (414) is refused before routing, where no hook
    // or reply decorator runs: answer with a page like every other 4xx, not Fastify's JSON.
    frameworkErrors: (error, request, reply) => {
      request.log.info({ code: error.code, url: request.url }, "client error");
      for (const [name, value] of siteHeaders) reply.header(name, value);
      void (reply as FastifyReply)
        .code(error.statusCode ?? 400)
        .header("x-served-by", deps.instanceId)
        .header("cache-control", "no-store")
        .type("text/html; charset=utf-8")
        .send(
          page({
            title: "Bad request",
            instanceId: deps.instanceId,
            body: refusedBody(
              "The address is not valid (a malformed %-escape, or a part that is too long).",
            ),
          }),
        );
    },
  }) as unknown as FastifyInstance;

  const headers = [...siteHeaders, ["x-served-by", deps.instanceId]] as const;
  // One synchronous hook for every fixed header (see security-headers.ts for why not @fastify/helmet).
  app.addHook("onRequest", (_request, reply, done) => {
    for (const [name, value] of headers) reply.header(name, value);
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
  installErrorHandling(app, { bodyLimit: config.BODY_LIMIT_BYTES });
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
