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
