import { Html, type HtmlValue, html } from "./html.js";
import { prerender } from "./prerender.js";

export interface PageOptions {
  readonly title: string;
  /** The instance that rendered the page; shown in the footer so load balancing is visible. */
  readonly instanceId: string;
  readonly body: HtmlValue;
  /** Highlights the matching navigation link. */
  readonly section?: "home" | "users" | "privacy";
  /** The signed-in operator and a token for the sign-out form; absent for visitors. */
  readonly account?: { readonly name: string; readonly csrf: string };
}

function navLink(href: string, label: string, current: boolean): Html {
  return current
    ? html`<a href="${href}" aria-current="page">${label}</a>`
    : html`<a href="${href}">${label}</a>`;
}

function accountBlock(account: PageOptions["account"]): Html {
  return account
    ? html`<form class="account" method="post" action="/auth/sign-out">
    <span data-testid="signed-in-as">${account.name}</span>
    <input type="hidden" name="_csrf" value="${account.csrf}">
    <button type="submit">Sign out</button>
  </form>`
    : html`<a class="account" href="/auth/sign-in">Sign in</a>`;
}

type Filled = ReturnType<typeof prerender<"title" | "account" | "body">>;
const shells = new Map<string, Filled>();

/**
 * The layout rendered once per (section, instance) with the title, account block and body left
 * as slots: it was about a tenth of the token page's CPU when rendered whole per request
 * (bench/README.md). The account block is per operator (name, sign-out token), so it is a slot.
 */
function shell(section: PageOptions["section"], instanceId: string): Filled {
  const cacheKey = `${section ?? ""}\u0000${instanceId}`;
  let filled = shells.get(cacheKey);
  if (!filled) {
    filled = prerender(["title", "account", "body"], (m) =>
      render(new Html(m.title), instanceId, new Html(m.account), new Html(m.body), section),
    );
    // Instance ids are few per process; the bound keeps a bug from growing the map without end.
    if (shells.size < 64) shells.set(cacheKey, filled);
  }
  return filled;
}

function render(
  title: HtmlValue,
  instanceId: string,
  account: HtmlValue,
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
  ${account}
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
  return shell(
    options.section,
    options.instanceId,
  )({
    title: options.title,
    account: accountBlock(options.account),
    body: options.body,
  });
}
