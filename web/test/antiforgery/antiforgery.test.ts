import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TOKEN_REUSE_MS, tokenFor } from "../../src/antiforgery/plugin.js";
import { newSessionId } from "../../src/auth/session.js";
import { newSigningKey } from "../../src/keyring/index.js";
import { FORM_HEADERS, form, formSession, startTestApp, type TestApp } from "../helpers/app.js";

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => {
  await t.close();
});

/** A fresh server-issued session and a form served to it. */
async function session() {
  const { cookie } = t.signIn();
  return formSession(await t.app.inject({ url: "/users/new", headers: { cookie } }), cookie);
}

async function post(
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const res = await t.app.inject({
    method: "POST",
    url: "/users",
    headers: { ...FORM_HEADERS, ...headers },
    payload: form({ firstName: "Mallory", lastName: "Forger", ...fields }),
  });
  return { status: res.statusCode, body: res.body };
}

function lastRejection(): Record<string, unknown> | undefined {
  return [...t.logs].reverse().find((l) => typeof l.antiforgery === "string");
}

async function assertRejected(
  result: { status: number; body: string },
  reason: string,
): Promise<void> {
  assert.equal(result.status, 403);
  assert.match(
    result.body,
    /This form expired or did not come from this site — reload and try again\./,
  );
  assert.match(result.body, /href="\/users"/);
  assert.equal(lastRejection()?.antiforgery, reason);
  const stored = await t.users.list(100);
  assert.ok(!stored.users.some((u) => u.lastName === "Forger"), "nothing stored");
}

describe("anti-forgery rejections (403 page, reason logged, nothing stored)", () => {
  test("no session cookie: refused before the token is even read (sign in first)", async () => {
    const s = await session();
    const res = await post({ _csrf: s.token });
    assert.equal(res.status, 403);
    assert.match(res.body, /Sign in first/);
    const stored = await t.users.list(100);
    assert.ok(!stored.users.some((u) => u.lastName === "Forger"), "nothing stored");
  });

  test("no token", async () => {
    const s = await session();
    await assertRejected(await post({}, { cookie: s.cookie }), "missing-token");
  });

  test("a truncated token", async () => {
    const s = await session();
    await assertRejected(
      await post({ _csrf: s.token.slice(0, -5) }, { cookie: s.cookie }),
      "malformed-token",
    );
  });

  test("a token with multi-byte characters", async () => {
    const s = await session();
    const token = `${s.token.slice(0, -2)}é€`;
    await assertRejected(await post({ _csrf: token }, { cookie: s.cookie }), "malformed-token");
  });

  test("a forged signature", async () => {
    const s = await session();
    const last = s.token.at(-2) === "A" ? "B" : "A";
    const forged = `${s.token.slice(0, -2)}${last}${s.token.at(-1)}`;
    await assertRejected(await post({ _csrf: forged }, { cookie: s.cookie }), "bad-signature");
  });

  test("a genuine token from another session", async () => {
    const mine = await session();
    const theirs = await session();
    await assertRejected(
      await post({ _csrf: theirs.token }, { cookie: mine.cookie }),
      "session-mismatch",
    );
  });

  test("a token naming a key id no instance knows, logged with the id", async () => {
    const s = await session();
    const parts = s.token.split(".");
    parts[1] = "unknownKey123456";
    await assertRejected(
      await post({ _csrf: parts.join(".") }, { cookie: s.cookie }),
      "unknown-key",
    );
    assert.equal(lastRejection()?.keyId, "unknownKey123456");
    assert.match(String(lastRejection()?.msg), /unknown-key \(key id unknownKey123456\)/);
  });

  test("a form that also fails validation is refused as forged (403), not re-rendered (400)", async () => {
    const s = await session();
    for (const path of ["/users", "/users/00000000-0000-4000-8000-000000000000/delete"]) {
      const res = await t.app.inject({
        method: "POST",
        url: path,
        headers: { ...FORM_HEADERS, cookie: s.cookie },
        payload: form({ firstName: "", lastName: "\u0000", version: "not-a-number" }),
      });
      assert.equal(res.statusCode, 403, path);
      assert.equal(lastRejection()?.antiforgery, "missing-token", path);
      assert.doesNotMatch(res.body, /There is a problem|<form method="post" action="\/users/, path);
    }
  });

  test("a cross-site Sec-Fetch-Site, even with a valid token", async () => {
    const s = await session();
    await assertRejected(
      await post({ _csrf: s.token }, { cookie: s.cookie, "sec-fetch-site": "cross-site" }),
      "cross-site",
    );
    await assertRejected(
      await post({ _csrf: s.token }, { cookie: s.cookie, "sec-fetch-site": "same-site" }),
      "cross-site",
    );
  });

  test("a foreign Origin without Fetch-Metadata, even with a valid token", async () => {
    const s = await session();
    await assertRejected(
      await post({ _csrf: s.token }, { cookie: s.cookie, origin: "https://evil.example" }),
      "cross-site",
    );
    await assertRejected(
      await post({ _csrf: s.token }, { cookie: s.cookie, origin: "null" }),
      "cross-site",
    );
  });

  test("a token signed with a revoked key", async () => {
    const s = await session();
    const keyId = s.token.split(".")[1] ?? "";
    await t.keyRing.revoke(keyId);
    // The session was signed with that key too: it ends as well.
    const ended = await post({ _csrf: s.token }, { cookie: s.cookie });
    assert.equal(ended.status, 403);
    assert.match(ended.body, /Sign in first/);
    // Signed in again (the replacement key), the old form's token is still refused.
    const again = t.signIn();
    await assertRejected(await post({ _csrf: s.token }, { cookie: again.cookie }), "unknown-key");
  });
});

describe("anti-forgery acceptance", () => {
  test("same-origin Fetch-Metadata and a matching Origin pass", async () => {
    const s = await session();
    const res = await post(
      { _csrf: s.token, lastName: "Honest" },
      {
        cookie: s.cookie,
        "sec-fetch-site": "same-origin",
        origin: "http://fleetline.test",
      },
    );
    assert.equal(res.status, 303);
  });

  test("a token issued before a key rotation still verifies after it", async () => {
    const s = await session();
    await t.keyRing.rotate();
    const res = await post({ _csrf: s.token, lastName: "Rotated" }, { cookie: s.cookie });
    assert.equal(res.status, 303);
  });
});

describe("tokens given to a session", () => {
  test("pages loaded within a minute carry the session's last token; after it, a new one, and both verify", async (c) => {
    const { cookie } = t.signIn();
    const page = async () =>
      formSession(await t.app.inject({ url: "/users/new", headers: { cookie } }), cookie).token;
    c.mock.timers.enable({ apis: ["Date"], now: Date.now() });
    const first = await page();
    c.mock.timers.tick(TOKEN_REUSE_MS - 1000);
    assert.equal(await page(), first, "the same token within the minute");
    c.mock.timers.tick(2000);
    const second = await page();
    assert.notEqual(second, first, "a new token once the minute is over");
    for (const token of [first, second]) {
      const res = await post({ _csrf: token, lastName: "Reused" }, { cookie });
      assert.equal(res.status, 303, "every token given out still verifies");
    }
    // Another session never gets this session's token.
    const other = t.signIn();
    const theirs = formSession(
      await t.app.inject({ url: "/users/new", headers: { cookie: other.cookie } }),
      other.cookie,
    ).token;
    assert.notEqual(theirs, second);
  });

  test("another signing key (rotated in, or replacing a revoked one) gives the session a new token at once", () => {
    const now = Date.now();
    const [oldKey, newKey] = [1, 2].map(() => newSigningKey({ now, lifetimeMs: 86_400_000 }));
    assert.ok(oldKey && newKey);
    const sid = newSessionId();
    const first = tokenFor(oldKey, sid, now);
    assert.equal(tokenFor(oldKey, sid, now + 1000), first);
    const next = tokenFor(newKey, sid, now + 1000);
    assert.notEqual(next, first);
    assert.equal(next.split(".")[1], newKey.id, "signed with the new key");
  });
});
