import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { rawRequest } from "./fuzz/raw-http.js";
import { startTestApp, type TestApp } from "./helpers/app.js";

let t: TestApp;
let port: number;
before(async () => {
  t = await startTestApp();
  await t.app.listen({ host: "127.0.0.1", port: 0 });
  const address = t.app.server.address();
  port = typeof address === "object" && address ? address.port : 0;
});
after(async () => {
  await t.close();
});

function assertSiteHeaders(headers: Record<string, string>, what: string): void {
  assert.match(headers["content-security-policy"] ?? "", /default-src 'self'/, `${what}: CSP`);
  assert.match(headers["content-security-policy"] ?? "", /frame-ancestors 'none'/, `${what}: CSP`);
  assert.equal(headers["x-frame-options"], "SAMEORIGIN", `${what}: X-Frame-Options`);
  assert.equal(headers["x-content-type-options"], "nosniff", `${what}: nosniff`);
  assert.equal(headers["referrer-policy"], "same-origin", `${what}: Referrer-Policy`);
  assert.ok(headers["strict-transport-security"], `${what}: HSTS`);
}

test("every kind of answer carries the security headers", async () => {
  const cases: Array<[string, string, number]> = [
    ["a page", "GET / HTTP/1.1", 200],
    ["a redirect to sign in", "GET /users HTTP/1.1", 303],
    ["a 404", "GET /static/nope.css HTTP/1.1", 404],
    ["a malformed %-escape (framework error, before routing)", "GET /users/%zz/edit HTTP/1.1", 400],
    [
      "an overlong id (framework error, before routing)",
      `GET /users/${"a".repeat(300)}/edit HTTP/1.1`,
      414,
    ],
    [
      "a control character in a header (Node's parser, raw socket answer)",
      "GET / HTTP/1.1\r\nx-bad: a\u0001b",
      400,
    ],
    [
      "headers over 16 KB (Node's parser, raw socket answer)",
      `GET / HTTP/1.1\r\nx-big: ${"a".repeat(20_000)}`,
      431,
    ],
  ];
  for (const [what, head, status] of cases) {
    const res = await rawRequest(port, head);
    assert.equal(res.statusCode, status, what);
    assertSiteHeaders(res.headers, what);
    assert.equal(res.headers["x-served-by"], "test-1", what);
  }
});
