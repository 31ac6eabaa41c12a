import { escapeHtml, type Html, type HtmlValue, html } from "./html.js";

/**
 * A template rendered once with a marker in each slot and cut there, so that each use costs only
 * the slots' escaping and a concatenation. For slots interpolated as they are (a title, a body, a
 * token): a template that tests or transforms a slot's value would be rendered wrong, and one that
 * drops or repeats a slot is refused here. NUL never survives in our templates' text, and no
 * escaping touches the markers, so a marker cannot be confused with content.
 */
export function prerender<const K extends string>(
  slots: readonly K[],
  render: (marks: Readonly<Record<K, string>>) => Html | string,
): (values: Readonly<Record<K, HtmlValue>>) => string {
  const marks = Object.fromEntries(slots.map((k) => [k, `\u0000slot:${k}\u0000`])) as Record<
    K,
    string
  >;
  let rest = String(render(marks));
  const parts: string[] = [];
  const order: K[] = [];
  for (;;) {
    const at = rest.indexOf("\u0000slot:");
    if (at < 0) break;
    const end = rest.indexOf("\u0000", at + 1);
    const name = rest.slice(at + 6, end) as K;
    if (end < 0 || !slots.includes(name) || order.includes(name)) {
      throw new Error(`prerender: slot ${JSON.stringify(name)} is unknown or used twice`);
    }
    parts.push(rest.slice(0, at));
    order.push(name);
    rest = rest.slice(end + 1);
  }
  if (order.length !== slots.length) {
    throw new Error(
      `prerender: slots ${slots.filter((k) => !order.includes(k)).join(", ")} not rendered`,
    );
  }
  parts.push(rest);
  return (values) => {
    let out = parts[0] ?? "";
    for (let i = 0; i < order.length; i++) {
      const value = values[order[i] as K];
      out += (typeof value === "string" ? escapeHtml(value) : html`${value}`.value) + parts[i + 1];
    }
    return out;
  };
}
