import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import pino from "pino";
import { type AppConfig, buildApp } from "../../src/app.js";
import { issueSession, type Session, sessionCookieName } from "../../src/auth/session.js";
import { createKeyStore, KeyRing } from "../../src/keyring/index.js";
import { UsersRepository } from "../../src/users/repository.js";
import { createUsersTable, type RunningDynalite, startDynalite } from "./dynalite.js";

export const TEST_CONFIG: AppConfig = {
  TRUST_PROXY: "127.0.0.1",
  BODY_LIMIT_BYTES: 32_768,
  KEEP_ALIVE_TIMEOUT_MS: 65_000,
  PAGE_SIZE: 5,
  DEBUG_ROUTES: true,
  KEYRING_STORE: "memory",
  REQUEST_DEADLINE_MS: 3000,
  MAX_EVENT_LOOP_DELAY_MS: 1000,
  KEYRING_PREFIX: "fleetline-test:keyring",
  // Never contacted by these tests (discovery happens on the first sign-in); the real flow
  // against a real provider is in auth/oidc-flow.test.ts.
  OIDC_ISSUER: "https://issuer.fleetline.invalid",
  OIDC_CLIENT_ID: "test-client",
  OIDC_LOGOUT_URL: undefined,
  PUBLIC_ORIGIN: ["http://fleetline.test"],
  SESSION_TTL_SECONDS: 8 * 3600,
  ANTIFORGERY_TOKEN_TTL_SECONDS: 4 * 3600,
  RATE_LIMIT_SIGN_IN_MAX: 1000,
  RATE_LIMIT_WRITE_MAX: 10_000,
  RATE_LIMIT_WINDOW_SECONDS: 60,
};

export interface TestApp {
  readonly app: FastifyInstance;
  readonly users: UsersRepository;
  readonly keyRing: KeyRing;
  readonly dynalite: RunningDynalite;
  /** JSON log lines the app wrote (the anti-forgery reasons are asserted from these). */
  readonly logs: Array<Record<string, unknown>>;
  /** `name=value` of a session the server issued at start, for an operator "test-operator". */
  readonly cookie: string;
  readonly session: Session;
  /**
   * A fresh server-issued session (new id). Minted with the web's own issueSession() and the
   * app's key ring, exactly what GET /auth/callback does once the provider has vouched: these
   * tests are about what a session allows, the flow that creates one is tested against a real
   * provider in auth/oidc-flow.test.ts.
   */
  signIn(identity?: { sub: string; email?: string }): { cookie: string; session: Session };
  /** app.inject() as the signed-in operator (`cookie` unless the request sets its own). */
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /**
   * A dynalite with the Users table already made, shared with other apps of the file; the
   * caller stops it. Default: one of the app's own, stopped by close().
   */
  readonly dynalite?: RunningDynalite;
  /**
   * Builds the app's repository, for a store reached another way (say, through a fault proxy
   * in front of `dynalite`); close() closes it. Default: a plain one on `dynalite.endpoint`.
   */
  readonly users?: (dynalite: RunningDynalite) => UsersRepository;
  /**
   * The ring the app signs and verifies with, for a ring on a shared store; the caller closes
   * it. Default: an in-process memory ring of its own, closed by close().
   */
  readonly keyRing?: KeyRing;
  /** Default "test-1". */
  readonly instanceId?: string;
}

/** The real app on a real dynalite, by default with an in-process memory key ring. */
export async function startTestApp(
  overrides: Partial<AppConfig> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const dynalite = options.dynalite ?? (await startDynalite());
  if (options.dynalite === undefined) await createUsersTable(dynalite.endpoint);
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: "info" },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const keyRing =
    options.keyRing ??
    (await KeyRing.open({ store: createKeyStore({ kind: "memory", logger }), logger }));
  const users =
    options.users?.(dynalite) ??
    new UsersRepository({
      tableName: "Users",
      region: "us-east-1",
      endpoint: dynalite.endpoint,
      attemptTimeoutMs: 1000,
    });
  const config = { ...TEST_CONFIG, ...overrides };
  const app = await buildApp(config, {
    users,
    keyRing,
    instanceId: options.instanceId ?? "test-1",
    logger,
  });
  await app.ready();
  const secure = config.PUBLIC_ORIGIN[0]?.startsWith("https:") ?? false;
  const signIn = (identity = { sub: "test-operator", email: "operator@example.test" }) =>
    operatorSession(keyRing, identity, secure);
  const operator = signIn();
  return {
    app,
    users,
    keyRing,
    dynalite,
    logs,
    cookie: operator.cookie,
    session: operator.session,
    signIn,
    inject(options: InjectOptions) {
      const headers = { ...(options.headers ?? {}) } as Record<string, string>;
      headers.cookie ??= operator.cookie;
      return app.inject({ ...options, headers });
    },
    async close() {
      await app.close();
      if (options.keyRing === undefined) await keyRing.close();
      users.close();
      if (options.dynalite === undefined) await dynalite.stop();
    },
  };
}

/** The form's token and the session cookie a browser would send back with it. */
export interface FormSession {
  readonly token: string;
  readonly cookie: string;
  readonly version?: string;
}

export function formSession(
  response: LightMyRequestResponse | { body: string; headers: Record<string, unknown> },
  cookie?: string,
): FormSession {
  const body = response.body;
  const token = /name="_csrf" value="([^"]+)"/.exec(body)?.[1];
  if (!token) throw new Error(`no _csrf field in:\n${body.slice(0, 500)}`);
  const setCookie = response.headers["set-cookie"];
  const raw = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  const fresh = typeof raw === "string" ? raw.split(";")[0] : undefined;
  const jar = fresh ?? cookie;
  if (!jar) throw new Error("no session cookie set and none given");
  const version = /name="version" value="([^"]+)"/.exec(body)?.[1];
  return version ? { token, cookie: jar, version } : { token, cookie: jar };
}

export function form(fields: Record<string, string | readonly string[]>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) {
    for (const item of typeof v === "string" ? [v] : v) params.append(k, item);
  }
  return params.toString();
}

export const FORM_HEADERS = { "content-type": "application/x-www-form-urlencoded" } as const;

/**
 * A server-issued operator session and its cookie (`name=value`), minted with the web's own
 * issueSession() and the key ring the instance signs with, as its sign-in callback does once the
 * provider has vouched. One place for every test that needs a signed-in operator without the
 * provider; the flow itself is tested against a real one (auth/oidc-flow.test.ts, e2e).
 */
export function operatorSession(
  keyRing: KeyRing,
  identity: { sub: string; email?: string } = { sub: "operator" },
  secure = false,
): { cookie: string; session: Session } {
  const issued = issueSession(keyRing.signingKey(), identity);
  return { cookie: `${sessionCookieName(secure)}=${issued.cookie}`, session: issued.session };
}

/**
 * For tests that build their own app (a store behind a fault proxy, a silent Redis): an
 * operatorSession() that every `app.inject()` carries unless the request sets its own cookie. Returns the cookie (`name=value`) for requests made over real HTTP.
 */
export function signInEveryInject(
  app: FastifyInstance,
  keyRing: KeyRing,
  sub = "operator",
): string {
  const { cookie } = operatorSession(keyRing, { sub });
  const inject = app.inject.bind(app);
  app.inject = ((options: InjectOptions | string) =>
    inject({
      ...(typeof options === "string" ? { url: options } : options),
      headers: { cookie, ...(typeof options === "object" ? options.headers : {}) },
    })) as typeof app.inject;
  return cookie;
}
