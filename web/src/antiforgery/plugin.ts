import type { FastifyReply, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { KeyRing } from "../keyring/index.js";
import {
  isSessionId,
  issueToken,
  newSessionId,
  type RejectionReason,
  verifyToken,
} from "./token.js";

declare module "fastify" {
  interface FastifyRequest {
    /** A fresh anti-forgery token for a form on this page; sets the session cookie if needed. */
    csrfToken(reply: FastifyReply): string;
  }
  interface FastifyContextConfig {
    /** Set `false` to opt a state-changing route out of anti-forgery checks (none does today). */
    csrf?: boolean;
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
  /** Form field carrying the token; default "_csrf". Also accepted in the `x-csrf-token` header. */
  readonly fieldName?: string;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Fetch-Metadata values a genuine form post from our own pages can carry. */
const ALLOWED_FETCH_SITES = new Set(["same-origin", "none"]);

/** `__Host-` forces Secure, Path=/ and no Domain: only possible, and only useful, over HTTPS. */
function cookieName(request: FastifyRequest): string {
  return request.protocol === "https" ? "__Host-fleetline.sid" : "fleetline.sid";
}

/** Defence in depth before any token work: browsers say where a request came from. */
function crossSiteReason(request: FastifyRequest): boolean {
  const site = request.headers["sec-fetch-site"];
  if (typeof site === "string") return !ALLOWED_FETCH_SITES.has(site);
  const origin = request.headers.origin;
  if (origin === undefined) return false; // older browsers and non-browser clients: token decides
  try {
    return new URL(origin).host !== request.host;
  } catch {
    return true; // "null" or garbage: not our page
  }
}

async function antiforgery(
  app: import("fastify").FastifyInstance,
  options: AntiforgeryOptions,
): Promise<void> {
  const field = options.fieldName ?? "_csrf";
  const { keyRing } = options;

  app.decorateRequest("csrfToken", function csrfToken(this: FastifyRequest, reply: FastifyReply) {
    const name = cookieName(this);
    let sessionId = this.cookies[name];
    if (!isSessionId(sessionId)) {
      sessionId = newSessionId();
      reply.setCookie(name, sessionId, {
        path: "/",
        httpOnly: true,
        sameSite: "lax",
        secure: this.protocol === "https",
      });
      // Later calls in the same request must bind to the same session.
      this.cookies[name] = sessionId;
    }
    return issueToken(keyRing.signingKey(), sessionId);
  });

  app.addHook("preHandler", async (request) => {
    if (SAFE_METHODS.has(request.method)) return;
    if (request.routeOptions.config.csrf === false) return;
    if (crossSiteReason(request)) throw new AntiforgeryError("cross-site");
    const sessionId = request.cookies[cookieName(request)];
    if (!isSessionId(sessionId)) throw new AntiforgeryError("missing-session");
    const body = request.body as Record<string, unknown> | undefined;
    const token = body?.[field] ?? request.headers["x-csrf-token"];
    const result = await verifyToken(keyRing, token, sessionId);
    if (!result.ok) throw new AntiforgeryError(result.reason, result.keyId);
  });
}

export const antiforgeryPlugin = fp(antiforgery, {
  name: "antiforgery",
  dependencies: ["@fastify/cookie"],
});
