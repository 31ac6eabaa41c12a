import assert from "node:assert/strict";
import { test } from "node:test";
import { html } from "../../src/views/html.js";
import { page } from "../../src/views/layout.js";

test("the pre-rendered layout escapes each page's title and body and keeps each instance's footer", () => {
  const a = page({
    title: `<script>"x"</script>`,
    instanceId: "i-aaa",
    body: ["<b>", html`<p>kept</p>`],
    section: "users",
  });
  assert.match(a, /<title>&lt;script&gt;&quot;x&quot;&lt;\/script&gt; · fleetline<\/title>/);
  assert.match(a, /<main id="main">\n&lt;b&gt;<p>kept<\/p>\n<\/main>/);
  assert.match(a, /<a href="\/users" aria-current="page">Users<\/a>/);
  assert.match(a, /data-testid="served-by">i-aaa</);
  // Same section, another instance and title: nothing of the first page leaks into the second.
  const b = page({ title: "Two", instanceId: "i-<b>", body: "second", section: "users" });
  assert.match(b, /data-testid="served-by">i-&lt;b&gt;</);
  assert.ok(!b.includes("i-aaa") && !b.includes("kept") && b.includes("<title>Two · fleetline"));
  const home = page({ title: "H", instanceId: "i-aaa", body: "", section: "home" });
  assert.match(home, /<a href="\/" aria-current="page">Home<\/a>/);
  assert.ok(!home.includes('href="/users" aria-current'));
  assert.ok(a.startsWith('<!doctype html><html lang="en">') && a.endsWith("</html>"));
});

test("the account block is a per-request slot: each operator's name and sign-out token, escaped", () => {
  const signedIn = page({
    title: "T",
    instanceId: "i-aaa",
    body: "",
    section: "users",
    account: { name: `<i>ann</i>`, csrf: `t"1` },
  });
  assert.match(signedIn, /data-testid="signed-in-as">&lt;i&gt;ann&lt;\/i&gt;</);
  assert.match(signedIn, /name="_csrf" value="t&quot;1"/);
  const visitor = page({ title: "T", instanceId: "i-aaa", body: "", section: "users" });
  assert.ok(!visitor.includes("ann") && !visitor.includes("_csrf"));
  assert.match(visitor, /<a class="account" href="\/auth\/sign-in">Sign in<\/a>/);
});
