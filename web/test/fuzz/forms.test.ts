import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { validateUserForm } from "../../src/users/validation.js";
import {
  FORM_HEADERS,
  type FormSession,
  formSession,
  startTestApp,
  type TestApp,
} from "../helpers/app.js";
import { bodyPart, encodeRaw, nameValue } from "./arbitraries.js";
import { assertRefusedOrAccepted, assertTableValid } from "./page-checks.js";

// Bounded so the file stays well under 30 s against dynalite; a failure prints fast-check's
// counterexample and seed, which reproduce it.
const RUNS = 300;

describe("fuzzed forms are answered 303 or with a 4xx page, and nothing invalid is stored", () => {
  let t: TestApp;
  let session: FormSession;
  let userId: string;

  before(async () => {
    t = await startTestApp();
    session = formSession(await t.inject({ url: "/users/new" }), t.cookie);
    const created = await t.users.create({ firstName: "Fuzz", lastName: "Target" });
    userId = created.id;
  });
  after(() => t.close());

  /** The body as sent: the parts in order, with the valid token at `tokenAt` (or none). */
  function body(parts: readonly string[], tokenAt: number | null): string {
    const all = [...parts];
    if (tokenAt !== null) all.splice(tokenAt % (all.length + 1), 0, `_csrf=${session.token}`);
    return all.join("&");
  }

  test("POST /users with any mix of fields, duplicates, arrays and malformed encoding", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(bodyPart, { maxLength: 6 }),
        fc.option(fc.nat(), { freq: 8 }),
        async (parts, tokenAt) => {
          const payload = body(parts, tokenAt);
          const res = await t.app.inject({
            method: "POST",
            url: "/users",
            headers: { ...FORM_HEADERS, cookie: session.cookie },
            payload,
          });
          assertRefusedOrAccepted(res, `POST /users ${JSON.stringify(payload.slice(0, 200))}`);
        },
      ),
      { numRuns: RUNS },
    );
    await assertTableValid(t);
  });

  test("POST /users with two names of any kind: accepted exactly when validation accepts them", async () => {
    await fc.assert(
      fc.asyncProperty(nameValue, nameValue, async (first, last) => {
        const payload = `firstName=${encodeRaw(first)}&lastName=${encodeRaw(last)}&_csrf=${session.token}`;
        const res = await t.app.inject({
          method: "POST",
          url: "/users",
          headers: { ...FORM_HEADERS, cookie: session.cookie },
          payload,
        });
        const what = `names ${JSON.stringify([first.slice(0, 50), last.slice(0, 50)])}`;
        assertRefusedOrAccepted(res, what);
        // A lone surrogate cannot travel as UTF-8: the parser turns it into U+FFFD, a valid
        // character, so only names without one are compared with validation's verdict.
        if (!/[\uD800-\uDFFF]/.test(first + last)) {
          const valid = validateUserForm({ firstName: first, lastName: last }).value !== undefined;
          assert.equal(res.statusCode === 303, valid, `${what}: status ${res.statusCode}`);
        }
      }),
      { numRuns: RUNS },
    );
    await assertTableValid(t);
  });

  test("POST /users/:id edits with fuzzed names and versions", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(bodyPart, { maxLength: 5 }),
        fc.option(fc.constantFrom("1", "2", "0", "-1", "1e3", "99999999999999999999", "1.5", ""), {
          freq: 4,
        }),
        async (parts, version) => {
          const extra = version === null ? [] : [`version=${encodeURIComponent(version)}`];
          const payload = body([...parts, ...extra], 0);
          const res = await t.app.inject({
            method: "POST",
            url: `/users/${userId}`,
            headers: { ...FORM_HEADERS, cookie: session.cookie },
            payload,
          });
          // A valid edit with a stale version is a 409 page with the current values.
          if (res.statusCode === 409) {
            assert.match(res.body, /Someone else changed this user/);
            return;
          }
          assertRefusedOrAccepted(res, `POST /users/:id ${JSON.stringify(payload.slice(0, 200))}`);
        },
      ),
      { numRuns: RUNS },
    );
    await assertTableValid(t);
  });

  test("bodies that are not url-encoded forms get a 4xx page", async () => {
    const contentTypes = fc.oneof(
      fc.constantFrom(
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/x-www-form-urlencoded; charset=latin1",
        "application/x-www-form-urlencoded;;;",
        "APPLICATION/X-WWW-FORM-URLENCODED",
        "application/x-www-form-urlencodedx",
        "",
        "*/*",
      ),
      fc.string({ maxLength: 40 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
    );
    const payloads = fc.oneof(
      fc.constant(`firstName=Ada&lastName=Lovelace&_csrf=${session.token}`),
      fc.constant(`{"firstName":"Ada","lastName":"Lovelace","_csrf":"${session.token}"}`),
      fc.constant(`{"firstName":["a"],"__proto__":{"x":1}}`),
      fc.string({ unit: "binary", maxLength: 200 }),
    );
    await fc.assert(
      fc.asyncProperty(contentTypes, payloads, async (contentType, payload) => {
        const res = await t.app.inject({
          method: "POST",
          url: "/users",
          headers: {
            cookie: session.cookie,
            ...(contentType ? { "content-type": contentType } : {}),
          },
          payload,
        });
        assertRefusedOrAccepted(res, `content-type ${JSON.stringify(contentType)}`);
      }),
      { numRuns: RUNS },
    );
    await assertTableValid(t);
  });

  test("ids that are not ours, path traversal included, are 404 pages on every user route", async () => {
    const ids = fc.oneof(
      fc.string({ minLength: 1, maxLength: 60 }).map(encodeRaw),
      fc.string({ unit: "binary", minLength: 1, maxLength: 20 }).map(encodeRaw),
      fc.constantFrom(
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2f%2e%2e%2f",
        "..%5C..%5Cwindows",
        "%00",
        "%252e%252e",
        "00000000-0000-4000-8000-000000000000",
        "AAAAAAAA-0000-4000-8000-000000000000",
        `${"a".repeat(36)}`,
        "%ZZ",
        "%",
        "a".repeat(150),
        "%ED%A0%80",
      ),
    );
    await fc.assert(
      fc.asyncProperty(ids, fc.constantFrom("edit", "delete", ""), async (id, action) => {
        const path = action ? `/users/${id}/${action}` : `/users/${id}`;
        const get = await t.inject({ url: path });
        assert.ok(get.statusCode < 500, `GET ${path} → ${get.statusCode}`);
        if (get.statusCode !== 200) assertRefusedOrAccepted(get, `GET ${path}`);
        const post = await t.app.inject({
          method: "POST",
          url: path,
          headers: { ...FORM_HEADERS, cookie: session.cookie },
          payload: `firstName=A&lastName=B&version=1&_csrf=${session.token}`,
        });
        assertRefusedOrAccepted(post, `POST ${path}`);
        assert.notEqual(post.statusCode, 303, `POST ${path} was accepted`);
      }),
      { numRuns: RUNS },
    );
    const target = await t.users.get(userId);
    assert.ok(target, "the fuzz target user was deleted");
  });
});
