import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { type FormSession, formSession, startTestApp, type TestApp } from "../helpers/app.js";
import { assertRefusedOrAccepted, assertTableValid } from "./page-checks.js";
import { rawRequest } from "./raw-http.js";

// Real HTTP (the app listening on a port), because Node's parser and its 16 KB header limit
// are what these inputs meet first; inject() would skip them.
const RUNS = 60;
const NODE_MAX_HEADER_BYTES = 16 * 1024;

const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,30}$/).filter(
  // Headers that change framing or routing are fuzzed on their own below.
  (n) =>
    !/^(host|content-length|transfer-encoding|connection|content-type|cookie|expect|upgrade)$/i.test(
      n,
    ),
);
const headerValue = fc.oneof(
  fc.stringMatching(/^[\x20-\x7e]{0,200}$/),
  fc
    .string({ unit: "binary", maxLength: 100 })
    .map((s) => Buffer.from(s, "utf8").toString("latin1")),
  fc.constantFrom("", " ", "\t", "same-site", "cross-site", "none", "null", "https://evil.example"),
);

describe("fuzzed HTTP requests over a real socket never get a 5xx", () => {
  let t: TestApp;
  let port: number;
  let session: FormSession;

  before(async () => {
    t = await startTestApp();
    await t.app.listen({ port: 0, host: "127.0.0.1" });
    port = (t.app.server.address() as AddressInfo).port;
    session = formSession(await t.inject({ url: "/users/new" }), t.cookie);
  });
  after(() => t.close());

  function validPost(extraHeaders: string): { head: string; body: string } {
    const body = `firstName=Ada&lastName=Lovelace&_csrf=${session.token}`;
    return {
      head:
        `POST /users HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded\r\n` +
        `cookie: ${session.cookie}\r\ncontent-length: ${Buffer.byteLength(body)}${extraHeaders}`,
      body,
    };
  }

  test("headers over Node's 16 KB limit are refused with 431", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: NODE_MAX_HEADER_BYTES + 1, max: 80_000 }),
        fc.boolean(),
        fc.constantFrom("x-filler", "cookie", "referer"),
        async (size, asPost, name) => {
          const big = `\r\n${name}: ${"a".repeat(size)}`;
          const head = asPost ? validPost(big).head : `GET /users/new HTTP/1.1${big}`;
          const res = await rawRequest(port, head, asPost ? validPost("").body : "");
          assert.equal(res.statusCode, 431, `${size}-byte ${name} header → ${res.statusCode}`);
          assert.match(res.body, /header/i, "the 431 does not say the headers were too large");
        },
      ),
      { numRuns: 10 },
    );
    await assertTableValid(t);
  });

  test("many headers adding up to over 16 KB are refused with 431", async () => {
    const headers = Array.from({ length: 1200 }, (_, i) => `\r\nx-h${i}: 0123456789`).join("");
    const res = await rawRequest(port, `GET / HTTP/1.1${headers}`);
    assert.equal(res.statusCode, 431);
  });

  // Node's parser refuses these before Fastify routes them; web/src/error-pages.ts answers.
  test("parser-level refusals (431, a control character in a header) are HTML pages like every other 4xx", async () => {
    // Node's parser refuses these before Fastify routes them: no hook runs, so the page and
    // x-served-by come from the web's clientErrorHandler.
    const big = await rawRequest(port, `GET / HTTP/1.1\r\nx-filler: ${"a".repeat(20_000)}`);
    assert.equal(big.statusCode, 431);
    assertRefusedOrAccepted(big, "a 20 KB header");
    assert.equal(big.headers["x-served-by"], "test-1");
    const control = await rawRequest(port, "GET / HTTP/1.1\r\nx-a: \u0000");
    assert.equal(control.statusCode, 400);
    assertRefusedOrAccepted(control, "a NUL in a header value");
    assert.equal(control.headers["x-served-by"], "test-1");
  });

  test("random extra headers on pages and on a valid form post", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(headerName, headerValue), { maxLength: 8 }),
        fc.constantFrom("GET /", "GET /users", "GET /users/new", "POST /users"),
        async (pairs, target) => {
          const extra = pairs.map(([n, v]) => `\r\n${n}: ${v}`).join("");
          const post = validPost(extra);
          const res =
            target === "POST /users"
              ? await rawRequest(port, post.head, post.body)
              : await rawRequest(port, `${target} HTTP/1.1${extra}`);
          assert.ok(res.statusCode > 0, `no answer to ${target} with ${JSON.stringify(pairs)}`);
          assert.ok(
            res.statusCode < 500,
            `${target} with ${JSON.stringify(pairs)} → ${res.statusCode}`,
          );
          if (res.statusCode >= 400) {
            assertRefusedOrAccepted(res, `${target} with ${JSON.stringify(pairs)}`);
          }
          assert.equal(res.headers["x-served-by"], "test-1");
        },
      ),
      { numRuns: RUNS },
    );
    await assertTableValid(t);
  });

  test("fuzzed cookies: never a session, so pages send to sign-in and posts are refused", async () => {
    const cookie = fc.oneof(
      fc.stringMatching(/^[\x21-\x7e]{0,300}$/).filter((c) => !c.includes(session.cookie)),
      fc.constantFrom(
        "fleetline.sid=",
        "fleetline.sid=../../etc/passwd",
        "fleetline.sid=a; fleetline.sid=b",
        `fleetline.sid=${"A".repeat(43)}`,
        "__Host-fleetline.sid=x",
        "fleetline.sid=%ZZ",
        "fleetline.session=s1.a.b.c",
        `fleetline.session=${session.cookie.split("=")[1]?.slice(0, -3)}AAA`,
        `fleetline.session=${session.cookie.split("=")[1]}x`,
        "fleetline.session=s1.%ZZ.e30.x",
      ),
    );
    await fc.assert(
      fc.asyncProperty(cookie, async (value) => {
        const page = await rawRequest(port, `GET /users/new HTTP/1.1\r\ncookie: ${value}`);
        assert.equal(page.statusCode, 303, `GET /users/new with cookie ${JSON.stringify(value)}`);
        assert.match(page.headers.location ?? "", /^\/auth\/sign-in\?returnTo=/);
        const body = `firstName=Ada&lastName=Lovelace&_csrf=${session.token}`;
        const res = await rawRequest(
          port,
          `POST /users HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded\r\ncookie: ${value}\r\ncontent-length: ${body.length}`,
          body,
        );
        assert.equal(
          res.statusCode,
          403,
          `POST with cookie ${JSON.stringify(value)} → ${res.statusCode}`,
        );
        assertRefusedOrAccepted(res, `cookie ${JSON.stringify(value)}`);
      }),
      { numRuns: RUNS },
    );
    await assertTableValid(t);
  });

  test("raw request targets: traversal, odd escapes, long paths", async () => {
    const target = fc.oneof(
      fc.stringMatching(/^\/[\x21-\x7e]{0,120}$/),
      fc.constantFrom(
        "/users/../../../etc/passwd",
        "/users/..%2f..%2fetc%2fpasswd/edit",
        "/static/../../package.json",
        "/static/..%2f..%2fpackage.json",
        "/static/%2e%2e/%2e%2e/package.json",
        "//users",
        "/users//edit",
        "/users/%00/edit",
        "/users?cursor=%ZZ",
        `/users?cursor=${"A".repeat(2000)}`,
        "/users?cursor=eyJpZCI6Ii4uLy4uIn0",
        `/users/${"a".repeat(3000)}/edit`,
        "/%",
        "*",
        "http://evil.example/users",
      ),
    );
    await fc.assert(
      fc.asyncProperty(target, fc.constantFrom("GET", "POST", "HEAD"), async (path, method) => {
        const res = await rawRequest(port, `${method} ${path} HTTP/1.1\r\ncontent-length: 0`);
        const what = `${method} ${path.slice(0, 200)}`;
        assert.ok(res.statusCode > 0 && res.statusCode < 500, `${what} → ${res.statusCode}`);
        assert.doesNotMatch(res.body, /"name":\s*"fleetline"|root:x:0:0/, `${what} leaked a file`);
        if (res.statusCode >= 400 && method !== "HEAD") assertRefusedOrAccepted(res, what);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  test("broken framing: bad content-length, chunked garbage, body larger than declared", async () => {
    const cases: Array<{ head: string; body: string }> = [
      {
        head: "POST /users HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: abc",
        body: "",
      },
      {
        head: "POST /users HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: -1",
        body: "",
      },
      {
        head: "POST /users HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 5\r\ncontent-length: 6",
        body: "a=bcde",
      },
      {
        head: "POST /users HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked",
        body: "zz\r\nfirstName=x\r\n0\r\n\r\n",
      },
      {
        head: "POST /users HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\ncontent-length: 3",
        body: "3\r\na=b\r\n0\r\n\r\n",
      },
      {
        head: `POST /users HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 40000`,
        body: "firstName=".padEnd(40_000, "x"),
      },
    ];
    for (const c of cases) {
      const res = await rawRequest(port, c.head, c.body);
      assert.ok(
        res.statusCode >= 400 && res.statusCode < 500,
        `${JSON.stringify(c.head.split("\r\n").slice(1))} → ${res.statusCode}`,
      );
    }
    await assertTableValid(t);
  });
});
