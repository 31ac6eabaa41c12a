import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
} from "fastify";
import { AntiforgeryError } from "./antiforgery/plugin.js";
import { SignInRequiredError } from "./auth/plugin.js";
import { RateLimitedError } from "./rate-limit.js";
import { OverloadedError } from "./shedding.js";
import { StoreBusyError, StoreUnavailableError } from "./users/errors.js";
import { type Html, html } from "./views/html.js";
import { page } from "./views/layout.js";
import { refusedBody } from "./views/refused.js";
import { PAGE_HEADERS } from "./views/reply-page.js";

/** What a person is told for a refused or failed request: the status line alone says little. */
interface ErrorPage {
  readonly status: number;
  readonly title: string;
  readonly body: Html;
}

const BACK_TO_USERS = html`<p><a href="/users">Go to the users list</a></p>`;

/** Requests Node's HTTP parser refused (no route, no hook ran): what was wrong with them. */
const PARSER_REFUSALS: Readonly<Record<number, string>> = {
  408: "The request took too long to arrive, so it was not read.",
  431: "The request's headers are larger than 16 KB (often too many or too large cookies), so it was not read.",
  400: "The request was malformed (for example a control character in a header), so it was not read.",
};

function parserRefusal(error: Error & { readonly code?: string }): ErrorPage {
  const status =
    error.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? 408
      : error.code === "HPE_HEADER_OVERFLOW"
        ? 431
        : 400;
  return {
    status,
    title: STATUS_CODES[status] ?? "Bad request",
    body: refusedBody(PARSER_REFUSALS[status] ?? "The request was malformed."),
  };
}

/** A malformed %-escape (400) or an overlong id (414), refused by Fastify before routing. */
function addressRefusal(error: FastifyError): ErrorPage {
  return {
    status: error.statusCode ?? 400,
    title: "Bad request",
    body: refusedBody(
      "The address is not valid (a malformed %-escape, or a part that is too long).",
    ),
  };
}

const NOT_FOUND: ErrorPage = {
  status: 404,
  title: "Not found",
  body: html`<h1>Page not found</h1>
<p>There is nothing here. If you followed a link to a user, that user may have been deleted.</p>
${BACK_TO_USERS}`,
};

/** The page for an error a route or hook threw; undefined for a 5xx nobody named (the 500 page). */
function pageForError(error: FastifyError, bodyLimit: number): ErrorPage | undefined {
  if (error instanceof AntiforgeryError) {
    return {
      status: 403,
      title: "Form expired",
      body: html`<h1>Your form was not accepted</h1>
<p class="lead">This form expired or did not come from this site — reload and try again.</p>
<p>Nothing was saved. This happens when a form is sent from another site, or when the page was open
for a long time. If it happens on every other submit, the instances behind the load balancer do
not share their signing keys (the original system's bug; <code>npm start -- --keyring memory</code>
shows it on purpose).</p>
<p><a class="button" href="/users">Back to the users list</a></p>`,
    };
  }
  if (error instanceof SignInRequiredError) {
    return {
      status: 403,
      title: "Sign in first",
      body: html`<h1>Sign in first</h1>
<p class="lead">Only signed-in operators can change anything here. Nothing was saved.</p>
<p><a class="button" href="/auth/sign-in">Sign in</a></p>`,
    };
  }
  if (error instanceof RateLimitedError) {
    // Retry-After and the RateLimit headers were set by the limiter before it threw.
    return {
      status: 429,
      title: "Too many requests",
      body: html`<h1>Too many requests</h1>
<p class="lead">${
        error.kind === "sign-in"
          ? "Too many sign-in attempts came from your address."
          : "Too many changes came from your address in a short time."
      } Nothing was saved.</p>
<p>Please wait ${error.retryAfterSeconds} seconds before trying again.</p>
${BACK_TO_USERS}`,
    };
  }
  if (error instanceof StoreUnavailableError) {
    return {
      status: 503,
      title: "Store unavailable",
      body: html`<h1>The user store is unavailable</h1>
<p>The database did not answer in time. Please try again in a few seconds. If you were saving a change,
check the users list before sending it again.</p>
${BACK_TO_USERS}`,
    };
  }
  if (error instanceof OverloadedError || error instanceof StoreBusyError) {
    return {
      status: 503,
      title: "Busy",
      body: html`<h1>This server is busy</h1>
<p>Too many requests are waiting right now, so this one was not started and nothing was saved.
Please try again in a few seconds.</p>
${BACK_TO_USERS}`,
    };
  }
  const status = error.statusCode ?? 500;
  if (status < 400 || status >= 500) return undefined;
  switch (status) {
    case 404:
      return NOT_FOUND;
    case 413:
      return {
        status,
        title: "Too large",
        body: html`<h1>That was too large</h1>
<p>The form you sent is larger than ${Math.round(bodyLimit / 1024)} KB, so it was not read and nothing was saved.
Names are at most 100 characters.</p>
${BACK_TO_USERS}`,
      };
    case 415:
      return {
        status,
        title: "Unsupported form",
        body: html`<h1>This kind of request is not accepted</h1>
<p>Forms here are sent as <code>application/x-www-form-urlencoded</code>; nothing was saved.</p>`,
      };
    default:
      return { status, title: "Bad request", body: refusedBody(error.message) };
  }
}

/**
 * Fastify answers a body over the limit with `connection: close` before reading it. Closing a
 * socket with unread data makes the kernel send a reset, which can destroy the 413 answer before
 * a proxy (our load balancer, the ALB) has read it: the client then sees a 502. When the body was
 * declared with Content-Length and never touched, Node's server reads and discards it after the
 * answer (bounded by the server's requestTimeout) and the connection stays usable, so the early
 * answer always arrives. A chunked body already half-read keeps `connection: close`.
 */
function keepConnectionToDrain(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  if (raw.headers["content-length"] !== undefined && raw.readableFlowing === null) {
    reply.removeHeader("connection");
  }
}

function logFor(request: FastifyRequest, error: FastifyError, status: number): void {
  if (error instanceof AntiforgeryError) {
    request.log.warn(
      { antiforgery: error.reason, keyId: error.keyId, url: request.url },
      error.keyId
        ? `anti-forgery rejection: ${error.reason} (key id ${error.keyId})`
        : `anti-forgery rejection: ${error.reason}`,
    );
  } else if (error instanceof SignInRequiredError) {
    request.log.info({ method: request.method, url: request.url }, "refused: not signed in");
  } else if (error instanceof StoreUnavailableError) {
    request.log.error({ err: error }, "user store unavailable");
  } else if (error instanceof OverloadedError || error instanceof StoreBusyError) {
    request.log.warn({ reason: error.message, url: request.url }, "request shed: overloaded");
  } else if (!(error instanceof RateLimitedError)) {
    request.log.info({ status, code: error.code, message: error.message }, "client error");
  }
}

export interface ErrorPagesOptions {
  readonly instanceId: string;
  /**
   * The headers every response carries (security headers, `x-served-by`): the onRequest hook
   * sets them on routed answers; the two answers made before any hook runs take them from here.
   */
  readonly fixedHeaders: ReadonlyArray<readonly [string, string]>;
  readonly bodyLimit: number;
}

/**
 * Every error page of the site, from its three ways out: Fastify's error and not-found
 * handlers (through `reply.render`, after the hooks set the fixed headers), Fastify's
 * `frameworkErrors` (before routing, where no hook runs) and Node's parser refusals written
 * straight to the socket. 4xx pages say exactly what was wrong; 5xx pages say little and the
 * log says everything.
 */
export class ErrorPages {
  readonly #options: ErrorPagesOptions;
  /** Status line aside, what the raw socket answer carries: the same headers as any page. */
  readonly #rawHeaderLines: string;

  constructor(options: ErrorPagesOptions) {
    this.#options = options;
    this.#rawHeaderLines = [...options.fixedHeaders, ...PAGE_HEADERS]
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
  }

  /** Fastify's `clientErrorHandler`: Fastify's default would answer these with JSON. */
  readonly clientErrorHandler = (error: Error & { readonly code?: string }, socket: Socket) => {
    // A reset connection has nobody left to answer.
    if (error.code === "ECONNRESET" || socket.destroyed) return;
    const refusal = parserRefusal(error);
    const body = this.#document(refusal);
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n` +
          this.#rawHeaderLines +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n` +
          body,
      );
    }
    socket.destroy(error);
  };

  /** Fastify's `frameworkErrors`: a page like every other 4xx, not Fastify's JSON. */
  readonly frameworkErrors: NonNullable<FastifyServerOptions["frameworkErrors"]> = (
    error,
    request,
    reply,
  ) => {
    request.log.info({ code: error.code, url: request.url }, "client error");
    const refusal = addressRefusal(error);
    for (const [name, value] of [...this.#options.fixedHeaders, ...PAGE_HEADERS]) {
      reply.header(name, value);
    }
    void (reply as FastifyReply).code(refusal.status).send(this.#document(refusal));
  };

  /** The not-found and error handlers; before any plugin adds routes (Fastify binds them then). */
  install(app: FastifyInstance): void {
    app.setNotFoundHandler((_request: FastifyRequest, reply: FastifyReply) =>
      reply.render(NOT_FOUND),
    );
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const known = pageForError(error, this.#options.bodyLimit);
      if (known === undefined) {
        request.log.error({ err: error }, "request failed");
        return reply.render({
          status: 500,
          title: "Something went wrong",
          body: html`<h1>Something went wrong</h1>
<p>The error was logged with reference <code>${request.id}</code>. Please try again.</p>`,
        });
      }
      logFor(request, error, known.status);
      if (known.status === 413) keepConnectionToDrain(request, reply);
      if (known.status === 503) reply.header("retry-after", "5");
      return reply.render(known);
    });
  }

  #document(refusal: ErrorPage): string {
    return page({ title: refusal.title, instanceId: this.#options.instanceId, body: refusal.body });
  }
}
