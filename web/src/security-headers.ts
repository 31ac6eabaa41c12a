import helmet, { type HelmetOptions } from "helmet";

/**
 * Helmet's response headers, worked out once. @fastify/helmet calls `helmet(options)` on every
 * request, re-parsing the CSP directives each time: measured at about a third of the CPU of
 * GET / (bench/README.md). The headers never vary per request here (no CSP nonces), so they are
 * computed at start-up and set by one synchronous hook.
 */
export function securityHeaders(
  options: Readonly<HelmetOptions>,
): ReadonlyArray<readonly [string, string]> {
  const headers = new Map<string, string>();
  const sink = {
    setHeader(name: string, value: unknown) {
      headers.set(name.toLowerCase(), String(value));
    },
    removeHeader(name: string) {
      headers.delete(name.toLowerCase());
    },
  };
  helmet(options)({} as never, sink as never, (error?: unknown) => {
    if (error) throw error;
  });
  return [...headers];
}

/**
 * The site's headers, one list for every way a response leaves: Fastify's hook, the framework
 * error handler (400/414 before routing, where no hook runs) and the raw answers written to the
 * socket for requests Node's parser refuses.
 *
 * `formTargets`: origins a form may lead to besides ours. Browsers apply form-action to the
 * redirects that follow a submit, and signing out posts to /auth/sign-out, which redirects to
 * the OpenID provider's logout page.
 */
export const siteSecurityHeaders = (
  formTargets: readonly string[] = [],
): ReadonlyArray<readonly [string, string]> =>
  securityHeaders({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'", ...formTargets],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    },
    referrerPolicy: { policy: "same-origin" },
  });
