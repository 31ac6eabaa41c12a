import type { FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { KeyRing, SigningKey } from "../keyring/index.js";
import { PerKeyCache } from "../keyring/per-key-cache.js";
import { issueToken, type RejectionReason, verifyToken } from "./token.js";

declare module "fastify" {
  interface FastifyRequest {
    /** An anti-forgery token for a form on this page, bound to the signed-in session. */
    csrfToken(reply: FastifyReply): string;
  }
}

/** A request refused by the anti-forgery check; rendered as a 403 page by the error handler. */
export class AntiforgeryError extends Error {
  override readonly name = "AntiforgeryError";
  readonly statusCode = 403;
  constructor(
    readonly reason: RejectionReason,
    readonly keyId?: string,
  ) {
    super(`anti-forgery check failed: ${reason}`);
  }
}

export interface AntiforgeryOptions {
  readonly keyRing: KeyRing;
  /** Origins our pages are served from (PUBLIC_ORIGIN); a POST with any other Origin is refused. */
  readonly allowedOrigins: readonly string[];
  /** How long a token verifies after it was issued; default 4 h. */
  readonly tokenTtlSeconds?: number;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Fetch-Metadata values a genuine form post from our own pages can carry. */
const ALLOWED_FETCH_SITES = new Set(["same-origin", "none"]);

/**
 * Defence in depth before any token work: browsers say where a request came from. The Origin is
 * compared with the configured public origins, not with Host or X-Forwarded-Host, which a
 * client (or a misconfigured proxy) chooses.
 */
function crossSite(request: FastifyRequest, allowedOrigins: ReadonlySet<string>): boolean {
  const site = request.headers["sec-fetch-site"];
  if (typeof site === "string" && !ALLOWED_FETCH_SITES.has(site)) return true;
  const origin = request.headers.origin;
  if (origin === undefined) return false; // older browsers and non-browser clients: token decides
  return !allowedOrigins.has(origin); // "null", garbage, another site, or our site under another name
}

/**
 * The token last issued to each session, per signing key, given again for a minute: the pages a
 * browser loads in a row (and the several forms on one page) carry the same token instead of one
 * signed per form, which was a visible share of a signed-in page's CPU (bench/README.md). A token
 * per session is what OWASP's synchronizer-token pattern asks for; each still expires
 * ANTIFORGERY_TOKEN_TTL_SECONDS after its own issue time. Kept per key object, so a rotated or
 * revoked signing key gets a new token at once.
 */
export const TOKEN_REUSE_MS = 60_000;
const recentTokens = new PerKeyCache<{ readonly token: string; readonly issuedAtMs: number }>(
  10_000,
);

export function tokenFor(key: SigningKey, sessionId: string, nowMs: number): string {
  const recent = recentTokens.get(key, sessionId);
  if (recent !== undefined && nowMs - recent.issuedAtMs < TOKEN_REUSE_MS) return recent.token;
  const token = issueToken(key, sessionId, nowMs);
  recentTokens.set(key, sessionId, { token, issuedAtMs: nowMs });
  return token;
}

async function antiforgery(
  app: import("fastify").FastifyInstance,
  options: AntiforgeryOptions,
): Promise<void> {
  const { keyRing } = options;
  const allowedOrigins = new Set(options.allowedOrigins);
  const maxAgeSeconds = options.tokenTtlSeconds;

  // Session ids come only from a session cookie this ring signed at sign-in (auth/plugin.ts):
  // an id a client invents is never bound to, so there are no anonymous forms to forge.
  app.decorateRequest("csrfToken", function csrfToken(this: FastifyRequest, _reply: FastifyReply) {
    if (this.session === null) throw new Error("csrfToken() on a request without a session");
    return tokenFor(keyRing.signingKey(), this.session.sid, Date.now());
  });

  app.addHook("preHandler", async (request) => {
    if (SAFE_METHODS.has(request.method)) return;
    if (crossSite(request, allowedOrigins)) throw new AntiforgeryError("cross-site");
    const sessionId = request.session?.sid;
    if (sessionId === undefined) throw new AntiforgeryError("missing-session");
    const body = request.body as Record<string, unknown> | undefined;
    // Only from the form's hidden field: the pages have no script that could set a header.
    const token = body?._csrf;
    const result = await verifyToken(keyRing, token, sessionId, {
      ...(maxAgeSeconds !== undefined && { maxAgeSeconds }),
    });
    if (!result.ok) throw new AntiforgeryError(result.reason, result.keyId);
  });
}

export const antiforgeryPlugin = fp(antiforgery, {
  name: "antiforgery",
  dependencies: ["@fastify/cookie", "auth"],
});
