import { Html, type HtmlValue, html } from "./html.js";
import { prerender } from "./prerender.js";

export interface PageOptions {
  readonly title: string;
  /** The instance that rendered the page; shown in the footer so load balancing is visible. */
  readonly instanceId: string;
  readonly body: HtmlValue;
  /** Highlights the matching navigation link. */
  readonly section?: "home" | "users" | "privacy";
}

function navLink(href: string, label: string, current: boolean): Html {
  return current
    ? html`<a href="${href}" aria-current="page">${label}</a>`
    : html`<a href="${href}">${label}</a>`;
}

type Filled = ReturnType<typeof prerender<"title" | "body">>;
const shells = new Map<string, Filled>();

/**
 * The layout rendered once per (section, instance) with the title and body left as slots: it
 * was about a tenth of the token page's CPU when rendered whole per request (bench/README.md).
 */
function shell(section: PageOptions["section"], instanceId: string): Filled {
  const cacheKey = `${section ?? ""}\u0000${instanceId}`;
  let filled = shells.get(cacheKey);
  if (!filled) {
    filled = prerender(["title", "body"], (m) =>
      render(new Html(m.title), instanceId, new Html(m.body), section),
    );
    // Instance ids are few per process; the bound keeps a bug from growing the map without end.
    if (shells.size < 64) shells.set(cacheKey, filled);
  }
  return filled;
}

function render(
  title: HtmlValue,
  instanceId: string,
  body: HtmlValue,
  section: PageOptions["section"],
): string {
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · fleetline</title>
<link rel="stylesheet" href="/static/site.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="site">
  <a class="brand" href="/">fleetline</a>
  <nav aria-label="Main">
    ${navLink("/", "Home", section === "home")}
    ${navLink("/users", "Users", section === "users")}
    ${navLink("/privacy", "Privacy", section === "privacy")}
  </nav>
</header>
<main id="main">
${body}
</main>
<footer class="site">
  Served by <strong data-testid="served-by">${instanceId}</strong> · fleetline
</footer>
</body>
</html>`}`;
}

export function page(options: PageOptions): string {
  return shell(options.section, options.instanceId)({ title: options.title, body: options.body });
}
