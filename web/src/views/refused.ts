import { type Html, html } from "./html.js";

/** The body of every "request refused before anything happened" page: what was wrong, and that nothing was saved. */
export function refusedBody(explanation: string): Html {
  return html`<h1>That request could not be used</h1>
<p>${explanation} Nothing was saved.</p>
<p><a href="/users">Go to the users list</a></p>`;
}
