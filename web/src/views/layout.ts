import { type Html, type HtmlValue, html } from "./html.js";

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

export function page(options: PageOptions): string {
  const { title, instanceId, body, section, account } = options;
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
  ${
    account
      ? html`<form class="account" method="post" action="/auth/sign-out">
    <span data-testid="signed-in-as">${account.name}</span>
    <input type="hidden" name="_csrf" value="${account.csrf}">
    <button type="submit">Sign out</button>
  </form>`
      : html`<a class="account" href="/auth/sign-in">Sign in</a>`
  }
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
