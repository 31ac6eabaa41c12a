import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { KeyRing } from "../keyring/index.js";
import { html } from "../views/html.js";
import {
  ProviderUnavailableError,
  type RelyingParty,
  SignInRefusedError,
} from "./relying-party.js";
import { safeReturnTo } from "./return-to.js";
import { issueSession, readSession, type Session, sessionCookieName } from "./session.js";
import {
  openSignInFlow,
  SIGN_IN_FLOW_TTL_SECONDS,
  sealSignInFlow,
  signInFlowCookieName,
} from "./sign-in-flow.js";

/** A state-changing request without a session: refused (403) before its body is read. */
export class SignInRequiredError extends Error {
  override readonly name = "SignInRequiredError";
  readonly statusCode = 403;
  constructor() {
    super("not signed in");
  }
}

declare module "fastify" {
  interface FastifyRequest {
    /** The signed-in operator, or null: set for every request before any route runs. */
    session: Session | null;
  }
}

export interface AuthOptions {
  readonly keyRing: KeyRing;
  /** Undefined when OIDC_ISSUER is unset: nobody can sign in, the protected pages stay shut. */
  readonly relyingParty: RelyingParty | undefined;
  readonly sessionTtlSeconds: number;
  /** Secure, `__Host-` cookies: true when the (first) public origin is https. */
  readonly secureCookies: boolean;
  /** Where the callback is: the first configured public origin. */
  readonly publicOrigin: string | undefined;
}

/**
 * Route patterns anyone may reach; every other route, and any unknown path, needs a session.
 * Deny by default, so a page added later is protected unless someone decides otherwise here.
 */
function isPublicRoute(route: string | undefined): boolean {
  if (route === undefined) return false;
  return (
    route === "/" ||
    route === "/privacy" ||
    route === "/health" ||
    route.startsWith("/health/") ||
    route.startsWith("/static/") ||
    route.startsWith("/auth/")
  );
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);

async function auth(app: FastifyInstance, options: AuthOptions): Promise<void> {
  const { keyRing, relyingParty, sessionTtlSeconds, secureCookies } = options;
  const sessionCookie = sessionCookieName(secureCookies);
  const flowCookie = signInFlowCookieName(secureCookies);
  const cookieOptions = {
    path: "/",
    httpOnly: true,
    sameSite: "lax" as const,
    secure: secureCookies,
  };

  app.decorateRequest("session", null);

  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const cookie = request.cookies[sessionCookie];
    if (cookie !== undefined) {
      const result = await readSession(keyRing, cookie, sessionTtlSeconds);
      if (result.ok) {
        request.session = result.session;
      } else {
        // Invented, tampered, expired or signed with a revoked key: worth a line, never a session.
        request.log.info({ session: result.reason, keyId: result.keyId }, "session cookie refused");
      }
    }
    if (request.session === null && request.routeOptions.url === "/auth/sign-out") {
      // Nothing to sign out of (say, the session expired): no form to check, nothing to forge.
      return reply.clearCookie(sessionCookie, { path: "/" }).redirect("/", 303);
    }
    if (request.session !== null || isPublicRoute(request.routeOptions.url)) return;
    if (SAFE_METHODS.has(request.method)) {
      const returnTo = safeReturnTo(request.url);
      const target =
        returnTo === undefined
          ? "/auth/sign-in"
          : `/auth/sign-in?returnTo=${encodeURIComponent(returnTo)}`;
      return reply.header("cache-control", "no-store").redirect(target, 303);
    }
    // Before the body is read: the error pages answer it (src/error-pages.ts).
    throw new SignInRequiredError();
  });

  function unavailable(reply: FastifyReply, what: string) {
    return reply.header("retry-after", "30").render({
      status: 503,
      title: "Sign-in unavailable",
      body: html`<h1>Sign-in is unavailable</h1>
<p class="lead">${what}</p>
<p>Nothing was changed. Please try again in a moment.</p>
<p><a href="/">Go to the home page</a></p>`,
    });
  }

  function restart(reply: FastifyReply, why: string) {
    return reply.clearCookie(flowCookie, { path: "/" }).render({
      status: 400,
      title: "Sign-in failed",
      body: html`<h1>Sign-in did not complete</h1>
<p class="lead">${why}</p>
<p><a class="button" href="/auth/sign-in">Sign in again</a></p>`,
    });
  }

  app.get(
    "/auth/sign-in",
    async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply) => {
      const returnTo = safeReturnTo(request.query.returnTo);
      if (request.session !== null) return reply.redirect(returnTo ?? "/users", 303);
      if (relyingParty === undefined) {
        request.log.warn("sign-in requested but OIDC_ISSUER is not configured");
        return unavailable(
          reply,
          "Sign-in is not configured on this instance (OIDC_ISSUER is unset).",
        );
      }
      let signIn: Awaited<ReturnType<RelyingParty["signInRequest"]>>;
      try {
        signIn = await relyingParty.signInRequest();
      } catch (err) {
        if (!(err instanceof ProviderUnavailableError)) throw err;
        request.log.error({ err }, "sign-in: provider unavailable");
        return unavailable(reply, "The sign-in provider did not answer.");
      }
      const flow = sealSignInFlow(keyRing.signingKey(), {
        state: signIn.state,
        nonce: signIn.nonce,
        codeVerifier: signIn.codeVerifier,
        ...(returnTo !== undefined && { returnTo }),
      });
      return reply
        .setCookie(flowCookie, flow, { ...cookieOptions, maxAge: SIGN_IN_FLOW_TTL_SECONDS })
        .header("cache-control", "no-store")
        .redirect(signIn.url.href, 303);
    },
  );

  app.get(
    "/auth/callback",
    async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply) => {
      if (relyingParty === undefined || options.publicOrigin === undefined) {
        return unavailable(
          reply,
          "Sign-in is not configured on this instance (OIDC_ISSUER is unset).",
        );
      }
      const flow = await openSignInFlow(keyRing, request.cookies[flowCookie]);
      if (flow === undefined) {
        request.log.info("sign-in callback without a valid flow cookie");
        return restart(
          reply,
          "This sign-in expired, was already used, or was started in another browser.",
        );
      }
      const error = request.query.error;
      if (typeof error === "string") {
        request.log.info({ error }, "sign-in refused by the provider");
        return restart(reply, `The sign-in provider answered: ${error}.`);
      }
      // The URL the browser was sent to, rebuilt from the configured origin rather than from the
      // Host header, so the redirect_uri sent to the token endpoint is the registered one.
      const callbackUrl = new URL(request.url, options.publicOrigin);
      let identity: Awaited<ReturnType<RelyingParty["complete"]>>;
      try {
        identity = await relyingParty.complete(callbackUrl, flow);
      } catch (err) {
        if (err instanceof ProviderUnavailableError) {
          request.log.error({ err }, "sign-in: token endpoint unavailable");
          return unavailable(reply, "The sign-in provider did not answer.");
        }
        if (err instanceof SignInRefusedError) {
          request.log.warn({ reason: err.message }, "sign-in callback refused");
          return restart(reply, "The answer from the sign-in provider could not be verified.");
        }
        throw err;
      }
      const { session, cookie } = issueSession(keyRing.signingKey(), identity);
      request.log.info({ sub: session.sub }, "signed in");
      return reply
        .clearCookie(flowCookie, { path: "/" })
        .setCookie(sessionCookie, cookie, { ...cookieOptions, maxAge: sessionTtlSeconds })
        .header("cache-control", "no-store")
        .redirect(flow.returnTo ?? "/users", 303);
    },
  );

  // Anti-forgery protected like every POST (the hook in antiforgery/plugin.ts).
  app.post("/auth/sign-out", async (request, reply) => {
    reply.clearCookie(sessionCookie, { path: "/" });
    if (request.session !== null) request.log.info({ sub: request.session.sub }, "signed out");
    const providerLogout = await relyingParty?.endSessionUrl();
    return reply.redirect(providerLogout?.href ?? "/", 303);
  });
}

export const authPlugin = fp(auth, {
  name: "auth",
  dependencies: ["@fastify/cookie", "reply-page"],
});
