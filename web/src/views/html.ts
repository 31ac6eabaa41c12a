/**
 * Auto-escaping HTML templates as tagged template literals.
 *
 * Written by hand (about 40 lines) because the libraries that fit a no-build, no-JSX server fall
 * short on the property that matters: escaping by default. @kitajs/html escapes only children
 * marked `safe`, EJS/Handlebars templates are untyped strings checked at run time, and a JSX
 * pipeline would add a compile step to the bundle. Here every interpolated value is escaped unless
 * it is itself an `Html` produced by this tag, so forgetting to escape is not possible.
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

const SPECIAL = /[&<>"']/;

export function escapeHtml(text: string): string {
  // Most interpolations (ids, labels, names) have nothing to escape: skip the replace.
  if (!SPECIAL.test(text)) return text;
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** What a template may interpolate. Numbers and strings are escaped; arrays are concatenated. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.value;
  if (value === null || value === undefined || value === false || value === true) return "";
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) {
    out += render(values[i]) + (strings[i + 1] ?? "");
  }
  return new Html(out);
}
