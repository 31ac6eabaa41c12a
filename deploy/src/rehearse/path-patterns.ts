// CodeBuild's artifact path patterns: `**` spans folders, `*` stays within one, `?` is one
// character. Matching is done on forward-slash relative paths.
import { readdirSync } from "node:fs";
import { join } from "node:path";

export function patternToRegExp(pattern: string): RegExp {
  let source = "";
  const p = pattern.replace(/^\.\//, "");
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === "*" && p[i + 1] === "*") {
      // "**/" matches zero or more whole folders; a trailing "**" matches everything below.
      if (p[i + 2] === "/") {
        source += "(?:.*/)?";
        i += 2;
      } else {
        source += ".*";
        i += 1;
      }
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** Every file below `dir`, as slash-separated paths relative to it, sorted. */
export function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

export function matchFiles(
  dir: string,
  include: readonly string[],
  exclude: readonly string[] = [],
): string[] {
  const inc = include.map(patternToRegExp);
  const exc = exclude.map(patternToRegExp);
  return listFiles(dir).filter((f) => inc.some((r) => r.test(f)) && !exc.some((r) => r.test(f)));
}
