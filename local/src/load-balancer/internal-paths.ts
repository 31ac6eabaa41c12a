/**
 * The path as nginx matches locations: query dropped, %-escapes decoded, dot segments resolved,
 * repeated slashes merged. Undecodable input is returned as is (it matches nothing internal).
 */
export function normalisePath(url: string): string {
  const raw = url.split("?", 1)[0] ?? "/";
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return raw;
  }
  const segments: string[] = [];
  for (const segment of decoded.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const trailing = decoded.endsWith("/") && segments.length > 0 ? "/" : "";
  return `/${segments.join("/")}${trailing}`;
}

/** A path that {@link normalisePath} would change: a %-escape, a dot, `//`, or no leading `/`. */
const needsNormalising = /[%.]|\/\/|^[^/]/;

/**
 * Paths the balancer answers itself, matched as nginx would match them. Most request paths need
 * no normalising (checked with one regular expression), so they are looked up as they are, with
 * no per-request splitting and joining.
 */
export class InternalPaths {
  private readonly paths: ReadonlySet<string>;

  constructor(paths: readonly string[]) {
    this.paths = new Set(paths);
  }

  has(url: string): boolean {
    if (this.paths.size === 0) return false;
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);
    return this.paths.has(needsNormalising.test(path) ? normalisePath(path) : path);
  }
}
