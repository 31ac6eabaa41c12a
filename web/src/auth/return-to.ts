const BASE = "http://fleetline.invalid";
const MAX_LENGTH = 2048;

/**
 * A path on this site to go back to after signing in, or undefined. Only same-site relative
 * paths pass: `//evil.example`, `/\evil.example` (browsers read `\` as `/`), absolute URLs,
 * control characters, and the sign-in routes themselves (a loop) are refused, so the
 * parameter cannot be used as an open redirect.
 */
export function safeReturnTo(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_LENGTH)
    return undefined;
  if (!value.startsWith("/") || value.startsWith("//")) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\\\u0000-\u001f\u007f]/.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value, BASE);
  } catch {
    return undefined;
  }
  if (url.origin !== BASE) return undefined;
  if (url.pathname === "/auth" || url.pathname.startsWith("/auth/")) return undefined;
  return `${url.pathname}${url.search}`;
}
