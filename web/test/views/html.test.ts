import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeHtml, html } from "../../src/views/html.js";

test("interpolated strings are escaped", () => {
  const name = `<img src=x onerror="alert('x')">&`;
  assert.equal(
    html`<p title="${name}">${name}</p>`.toString(),
    '<p title="&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;">&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;</p>',
  );
});

test("nested templates are not escaped twice, arrays are joined, empty values vanish", () => {
  const items = ["a<b", "c"].map((x) => html`<li>${x}</li>`);
  assert.equal(
    html`<ul>${items}</ul>${undefined}${null}${false}${0}`.toString(),
    "<ul><li>a&lt;b</li><li>c</li></ul>0",
  );
});

test("escapeHtml leaves other Unicode alone", () => {
  assert.equal(escapeHtml("Zoë 李 🚀"), "Zoë 李 🚀");
});
