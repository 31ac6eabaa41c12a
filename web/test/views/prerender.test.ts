import assert from "node:assert/strict";
import { test } from "node:test";
import { html } from "../../src/views/html.js";
import { prerender } from "../../src/views/prerender.js";

test("a prerendered template gives what rendering it whole gives, values escaped as the tag would", () => {
  const whole = (a: string, b: string) => html`<p title="${a}">${b}</p><i>${a}</i>`.value;
  const cut = prerender(["a", "b"], (m) => html`<p title="${m.a}">${m.b}</p><i>x</i>`);
  for (const [a, b] of [
    ["plain", "text"],
    [`"><script>`, "<b>&'</b>"],
    ["", ""],
  ] as const) {
    assert.equal(cut({ a, b }), whole(a, b).replace(/<i>.*<\/i>/, "<i>x</i>"));
  }
  assert.equal(cut({ a: "t", b: html`<em>kept</em>` }), `<p title="t"><em>kept</em></p><i>x</i>`);
});

test("a template that drops or repeats a slot is refused at start-up, not rendered wrong", () => {
  assert.throws(() => prerender(["a", "b"], (m) => html`${m.a}`), /slots b not rendered/);
  assert.throws(() => prerender(["a"], (m) => html`${m.a}${m.a}`), /used twice/);
});
