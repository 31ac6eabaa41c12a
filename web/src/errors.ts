import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AntiforgeryError } from "./antiforgery/plugin.js";
import { RateLimitedError } from "./rate-limit.js";
import { OverloadedError } from "./shedding.js";
import { StoreBusyError, StoreUnavailableError } from "./users/errors.js";
import { type Html, html } from "./views/html.js";
import { refusedBody } from "./views/refused.js";

/** What a person is told for each client error; the status line alone says little. */
function clientErrorPage(
  status: number,
  error: FastifyError,
  bodyLimit: number,
): { title: string; body: Html } {
  switch (status) {
    case 404:
      return {
        title: "Not found",
        body: html`<h1>Page not found</h1>
<p>There is nothing here. If you followed a link to a user, that user may have been deleted.</p>
<p><a href="/users">Go to the users list</a></p>`,
      };
    case 413:
      return {
        title: "Too large",
        body: html`<h1>That was too large</h1>
<p>The form you sent is larger than ${Math.round(bodyLimit / 1024)} KB, so it was not read and nothing was saved.
Names are at most 100 characters.</p>
<p><a href="/users">Go to the users list</a></p>`,
      };
    case 415:
      return {
        title: "Unsupported form",
        body: html`<h1>This kind of request is not accepted</h1>
<p>Forms here are sent as <code>application/x-www-form-urlencoded</code>; nothing was saved.</p>`,
      };
    default:
      return {
        title: "Bad request",
        body: refusedBody(error.message),
      };
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

export interface ErrorHandlingOptions {
  readonly bodyLimit: number;
}

/**
 * One place decides what a failure looks like: 4xx pages say exactly what was wrong; 5xx pages
 * say little and the log says everything.
 */
export function installErrorHandling(app: FastifyInstance, options: ErrorHandlingOptions): void {
  app.setNotFoundHandler((_request: FastifyRequest, reply: FastifyReply) =>
    reply.render({
      status: 404,
      ...clientErrorPage(404, new Error("not found") as FastifyError, options.bodyLimit),
    }),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AntiforgeryError) {
      request.log.warn(
        { antiforgery: error.reason, keyId: error.keyId, url: request.url },
        error.keyId
          ? `anti-forgery rejection: ${error.reason} (key id ${error.keyId})`
          : `anti-forgery rejection: ${error.reason}`,
      );
      return reply.render({
        status: 403,
        title: "Form expired",
        body: html`<h1>Your form was not accepted</h1>
<p class="lead">This form expired or did not come from this site — reload and try again.</p>
<p>Nothing was saved. This happens when a form is sent from another site, or when the page was open
for a long time. If it happens on every other submit, the instances behind the load balancer do
not share their signing keys (the original system's bug; <code>npm start -- --keyring memory</code>
shows it on purpose).</p>
<p><a class="button" href="/users">Back to the users list</a></p>`,
      });
    }
    if (error instanceof RateLimitedError) {
      // Retry-After and the RateLimit headers were set by the limiter before it threw.
      return reply.render({
        status: 429,
        title: "Too many requests",
        body: html`<h1>Too many requests</h1>
<p class="lead">${
          error.kind === "sign-in"
            ? "Too many sign-in attempts came from your address."
            : "Too many changes came from your address in a short time."
        } Nothing was saved.</p>
<p>Please wait ${error.retryAfterSeconds} seconds before trying again.</p>
<p><a href="/users">Go to the users list</a></p>`,
      });
    }
    if (error instanceof StoreUnavailableError) {
      request.log.error({ err: error }, "user store unavailable");
      return reply.header("retry-after", "5").render({
        status: 503,
        title: "Store unavailable",
        body: html`<h1>The user store is unavailable</h1>
<p>The database did not answer in time. Please try again in a few seconds. If you were saving a change,
check the users list before sending it again.</p>
<p><a href="/users">Go to the users list</a></p>`,
      });
    }
    if (error instanceof OverloadedError || error instanceof StoreBusyError) {
      request.log.warn({ reason: error.message, url: request.url }, "request shed: overloaded");
      return reply.header("retry-after", "5").render({
        status: 503,
        title: "Busy",
        body: html`<h1>This server is busy</h1>
<p>Too many requests are waiting right now, so this one was not started and nothing was saved.
Please try again in a few seconds.</p>
<p><a href="/users">Go to the users list</a></p>`,
      });
    }
    const status = error.statusCode ?? 500;
    if (status === 413) keepConnectionToDrain(request, reply);
    if (status >= 400 && status < 500) {
      request.log.info({ status, code: error.code, message: error.message }, "client error");
      return reply.render({ status, ...clientErrorPage(status, error, options.bodyLimit) });
    }
    request.log.error({ err: error }, "request failed");
    return reply.render({
      status: 500,
      title: "Something went wrong",
      body: html`<h1>Something went wrong</h1>
<p>The error was logged with reference <code>${request.id}</code>. Please try again.</p>`,
    });
  });
}
