import assert from "node:assert/strict";
import { after, before, describe, type TestContext, test } from "node:test";
import { issueToken } from "../../src/antiforgery/token.js";
import { issueSession, newSessionId } from "../../src/auth/session.js";
import {
  FORM_HEADERS,
  form,
  formSession,
  operatorSession,
  startTestApp,
  type TestApp,
} from "../helpers/app.js";
import { closedPort, openSharedRing, tempDir } from "../keyring/helpers.js";

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => {
  await t.close();
});

const ORIGIN = "http://fleetline.test";

async function userCount(): Promise<number> {
  return (await t.users.list(100)).users.length;
}

/** The last anti-forgery rejection reason the web logged. */
function lastRejection(): unknown {
  return t.logs.filter((l) => l.antiforgery !== undefined).at(-1)?.antiforgery;
}

/** The reasons the web logged for refusing session cookies, newest last. */
function sessionRefusals(): unknown[] {
  return t.logs.filter((l) => l.msg === "session cookie refused").map((l) => l.session);
}

describe("anonymous visitors", () => {
  test("GETs of users pages are sent to sign in, remembering the page", async () => {
    for (const [url, returnTo] of [
      ["/users", "/users"],
      ["/users/new", "/users/new"],
      ["/users/abc/edit?x=1", "/users/abc/edit?x=1"],
      ["/users/abc/delete", "/users/abc/delete"],
    ] as const) {
      const res = await t.app.inject({ url });
      assert.equal(res.statusCode, 303, url);
      assert.equal(res.headers.location, `/auth/sign-in?returnTo=${encodeURIComponent(returnTo)}`);
      assert.doesNotMatch(res.body, /<table|<form/, "nothing of the page leaks");
    }
  });

  test("unknown paths are closed too (deny by default)", async () => {
    const res = await t.app.inject({ url: "/admin" });
    assert.equal(res.statusCode, 303);
  });

  test("the home, health, privacy pages and static assets stay public", async () => {
    for (const url of ["/", "/health", "/health/ready", "/privacy", "/static/site.css"]) {
      const res = await t.app.inject({ url });
      assert.equal(res.statusCode, 200, url);
    }
  });

  test("POSTs are refused before their body is read: too large or not a form, still sign in first", async () => {
    for (const [type, payload] of [
      [FORM_HEADERS["content-type"], form({ firstName: "x".repeat(40_000), lastName: "y" })],
      ["application/json", JSON.stringify({ firstName: "J", lastName: "S" })],
    ] as const) {
      const res = await t.app.inject({
        method: "POST",
        url: "/users",
        headers: { "content-type": type },
        payload,
      });
      assert.equal(res.statusCode, 403, type);
      assert.match(res.body, /Sign in first/);
    }
  });

  test("POSTs are refused with a page and store nothing, whatever they carry", async () => {
    const before = await userCount();
    // A genuine token and cookie from a real session, sent without the session cookie.
    const s = formSession(await t.inject({ url: "/users/new" }), t.cookie);
    for (const url of ["/users", "/users/x", "/users/x/delete"]) {
      const res = await t.app.inject({
        method: "POST",
        url,
        headers: FORM_HEADERS,
        payload: form({ _csrf: s.token, firstName: "Anon", lastName: "Ymous", version: "1" }),
      });
      assert.equal(res.statusCode, 403, url);
      assert.match(res.body, /Sign in first/);
    }
    assert.equal(await userCount(), before);
  });
});

describe("session cookies are issued by the server only", () => {
  test("an invented cookie is refused, in the old format or the new one", async () => {
    const before = await userCount();
    const invented = [
      `fleetline.session=${newSessionId()}`,
      `fleetline.sid=${newSessionId()}`,
      `fleetline.session=s1.${t.keyRing.signingKey().id}.${Buffer.from('{"sid":"x","sub":"me","iat":1}').toString("base64url")}.${"A".repeat(43)}`,
    ];
    for (const cookie of invented) {
      const page = await t.app.inject({ url: "/users/new", headers: { cookie } });
      assert.equal(page.statusCode, 303, cookie);
      // And a token bound to the invented id does not help.
      const sid = newSessionId();
      const res = await t.app.inject({
        method: "POST",
        url: "/users",
        headers: { ...FORM_HEADERS, cookie },
        payload: form({
          _csrf: issueToken(t.keyRing.signingKey(), sid),
          firstName: "F",
          lastName: "G",
        }),
      });
      assert.equal(res.statusCode, 403);
    }
    assert.equal(await userCount(), before);
  });

  test("a tampered cookie (another subject, same signature) is refused", async () => {
    const [name, value = ""] = t.cookie.split("=");
    const [prefix, keyId, payload, mac] = value.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString());
    claims.sub = "someone-else";
    const forged = `${name}=${prefix}.${keyId}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${mac}`;
    const res = await t.app.inject({ url: "/users", headers: { cookie: forged } });
    assert.equal(res.statusCode, 303);
    assert.equal(sessionRefusals().at(-1), "bad-signature");
  });

  test("a session past its lifetime is refused, one inside it accepted", async () => {
    const key = t.keyRing.signingKey();
    const ttlMs = 8 * 3600 * 1000;
    const old = issueSession(key, { sub: "op" }, Date.now() - ttlMs - 1000).cookie;
    const young = issueSession(key, { sub: "op" }, Date.now() - ttlMs + 60_000).cookie;
    const expired = await t.app.inject({
      url: "/users",
      headers: { cookie: `fleetline.session=${old}` },
    });
    assert.equal(expired.statusCode, 303);
    assert.equal(sessionRefusals().at(-1), "expired");
    const fine = await t.app.inject({
      url: "/users",
      headers: { cookie: `fleetline.session=${young}` },
    });
    assert.equal(fine.statusCode, 200);
  });

  test("a session signed with a revoked key is refused", async (c) => {
    const own = await startTestApp();
    c.after(() => own.close());
    assert.equal((await own.inject({ url: "/users" })).statusCode, 200);
    await own.keyRing.revoke(own.keyRing.signingKey().id);
    assert.equal((await own.inject({ url: "/users" })).statusCode, 303);
  });
});

describe("anti-forgery tokens", () => {
  test("bind to the session: a token from one operator's session is refused with another's", async () => {
    const before = await userCount();
    const a = formSession(await t.inject({ url: "/users/new" }), t.cookie);
    const other = t.signIn({ sub: "second-operator" });
    const res = await t.app.inject({
      method: "POST",
      url: "/users",
      headers: { ...FORM_HEADERS, cookie: other.cookie },
      payload: form({ _csrf: a.token, firstName: "Cross", lastName: "Session" }),
    });
    assert.equal(res.statusCode, 403);
    assert.equal(lastRejection(), "session-mismatch");
    assert.equal(await userCount(), before);
  });

  test("expire hours after they were issued, not with their key", async () => {
    const key = t.keyRing.signingKey();
    const stale = issueToken(key, t.session.sid, Date.now() - 4 * 3600 * 1000 - 1000);
    const res = await t.inject({
      method: "POST",
      url: "/users",
      headers: FORM_HEADERS,
      payload: form({ _csrf: stale, firstName: "Stale", lastName: "Form" }),
    });
    assert.equal(res.statusCode, 403);
    assert.equal(lastRejection(), "expired-token");
    const fresh = issueToken(key, t.session.sid, Date.now() - 3 * 3600 * 1000);
    const ok = await t.inject({
      method: "POST",
      url: "/users",
      headers: FORM_HEADERS,
      payload: form({ _csrf: fresh, firstName: "Fresh", lastName: "Form" }),
    });
    assert.equal(ok.statusCode, 303);
  });
});

/**
 * An app whose ring shares a file store with another instance's ring, and a key that other
 * ring has just published (active at once): the app has never seen it.
 */
async function keyPublishedElsewhere(c: TestContext) {
  const shared = { dir: await tempDir(c) };
  const ring = await openSharedRing(c, shared);
  const app = await startTestApp({ KEYRING_STORE: "file" }, { keyRing: ring });
  c.after(() => app.close());
  const other = await openSharedRing(c, shared, { activationDelayMs: 0 });
  const fresh = await other.rotate();
  assert.equal(other.signingKey().id, fresh.id);
  assert.equal(ring.find(fresh.id), undefined, "the app's ring has not seen the new key");
  return { app, other, fresh };
}

describe("a key another instance has just published", () => {
  test("a session it signed is accepted: the unknown key id makes the ring re-read the store", async (c) => {
    const { app, other } = await keyPublishedElsewhere(c);
    const { cookie } = operatorSession(other, { sub: "signed-in-elsewhere" });
    const res = await app.app.inject({ url: "/users", headers: { cookie } });
    assert.equal(res.statusCode, 200, String(res.headers.location));
  });

  test("a form token it signed is accepted: the unknown key id makes the ring re-read the store", async (c) => {
    const { app, fresh } = await keyPublishedElsewhere(c);
    const { cookie, session } = app.signIn();
    const res = await app.app.inject({
      method: "POST",
      url: "/users",
      headers: { ...FORM_HEADERS, cookie },
      payload: form({ _csrf: issueToken(fresh, session.sid), firstName: "Fresh", lastName: "Key" }),
    });
    assert.equal(res.statusCode, 303, res.body);
  });
});

describe("origin check", () => {
  async function postWith(headers: Record<string, string>) {
    const s = formSession(await t.inject({ url: "/users/new" }), t.cookie);
    return t.inject({
      method: "POST",
      url: "/users",
      remoteAddress: "127.0.0.1",
      headers: { ...FORM_HEADERS, ...headers },
      payload: form({ _csrf: s.token, firstName: "Origin", lastName: "Check" }),
    });
  }

  test("the configured public origin is accepted", async () => {
    assert.equal((await postWith({ origin: ORIGIN })).statusCode, 303);
  });

  test("another origin is refused even when Host and X-Forwarded-Host claim it", async () => {
    const res = await postWith({
      origin: "http://evil.example",
      host: "evil.example",
      "x-forwarded-host": "evil.example",
    });
    assert.equal(res.statusCode, 403);
    assert.equal(lastRejection(), "cross-site");
  });

  test("Sec-Fetch-Site same-origin does not excuse a foreign Origin", async () => {
    const res = await postWith({ "sec-fetch-site": "same-origin", origin: "http://evil.example" });
    assert.equal(res.statusCode, 403);
  });
});

describe("sign-in redirects", () => {
  test("an operator already signed in goes to the remembered same-site path", async () => {
    const res = await t.inject({ url: "/auth/sign-in?returnTo=%2Fusers%2Fnew" });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, "/users/new");
  });

  test("open redirects are refused: anything but a same-site path goes to /users", async () => {
    for (const target of [
      "//evil.example/x",
      "https://evil.example/",
      "/\\evil.example",
      "/\r\nSet-Cookie: x=y",
      "javascript:alert(1)",
      "/auth/sign-in",
    ]) {
      const res = await t.inject({ url: `/auth/sign-in?returnTo=${encodeURIComponent(target)}` });
      assert.equal(res.statusCode, 303, target);
      assert.equal(res.headers.location, "/users", target);
    }
  });
});

describe("the provider down", () => {
  test("sign-in answers 503 with a page, and the public pages keep working", async (c) => {
    const port = await closedPort();
    const down = await startTestApp({ OIDC_ISSUER: `http://127.0.0.1:${port}` });
    c.after(() => down.close());
    const res = await down.app.inject({ url: "/auth/sign-in?returnTo=%2Fusers" });
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /The sign-in provider did not answer/);
    assert.equal(res.headers["retry-after"], "30");
    assert.equal((await down.app.inject({ url: "/" })).statusCode, 200);
  });

  test("without OIDC_ISSUER nobody can sign in and the users pages stay shut", async (c) => {
    const none = await startTestApp({ OIDC_ISSUER: undefined, OIDC_CLIENT_ID: undefined });
    c.after(() => none.close());
    const res = await none.app.inject({ url: "/auth/sign-in" });
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /not configured/);
    assert.equal((await none.app.inject({ url: "/users" })).statusCode, 303);
  });
});

describe("sign-out", () => {
  test("needs the anti-forgery token, then clears the session and ends the provider's", async (c) => {
    const cognito = await startTestApp({
      OIDC_LOGOUT_URL: "https://fleetline.auth.example/logout",
    });
    c.after(() => cognito.close());
    const forged = await cognito.inject({
      method: "POST",
      url: "/auth/sign-out",
      headers: FORM_HEADERS,
      payload: "",
    });
    assert.equal(
      forged.statusCode,
      403,
      "no token: a cross-site page cannot sign the operator out",
    );
    const page = await cognito.inject({ url: "/users" });
    // Browsers check form-action on the redirects after a submit: the logout page must be allowed.
    assert.match(
      String(page.headers["content-security-policy"]),
      /form-action 'self' https:\/\/issuer\.fleetline\.invalid https:\/\/fleetline\.auth\.example;/,
    );
    const token = /action="\/auth\/sign-out">[\s\S]*?name="_csrf" value="([^"]+)"/.exec(
      page.body,
    )?.[1];
    assert.ok(token, "the header carries a sign-out form");
    assert.match(page.body, /data-testid="signed-in-as">operator@example\.test</);
    const res = await cognito.inject({
      method: "POST",
      url: "/auth/sign-out",
      headers: FORM_HEADERS,
      payload: form({ _csrf: token }),
    });
    assert.equal(res.statusCode, 303);
    const location = new URL(String(res.headers.location));
    assert.equal(location.origin + location.pathname, "https://fleetline.auth.example/logout");
    assert.equal(location.searchParams.get("client_id"), "test-client");
    assert.equal(location.searchParams.get("logout_uri"), `${ORIGIN}/`);
    assert.match(
      String(res.headers["set-cookie"]),
      /^fleetline\.session=;.*Expires=Thu, 01 Jan 1970/,
    );
  });

  test("without a session it just goes home", async () => {
    const res = await t.app.inject({
      method: "POST",
      url: "/auth/sign-out",
      headers: FORM_HEADERS,
      payload: "",
    });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, "/");
  });
});

describe("over HTTPS (an https public origin)", () => {
  test("the session cookie is the __Host- one; the plain-named one is ignored", async (c) => {
    const https = await startTestApp({ PUBLIC_ORIGIN: ["https://d111.cloudfront.net"] });
    c.after(() => https.close());
    assert.match(https.cookie, /^__Host-fleetline\.session=/);
    assert.equal((await https.inject({ url: "/users" })).statusCode, 200);
    const plain = https.cookie.replace("__Host-", "");
    assert.equal(
      (await https.app.inject({ url: "/users", headers: { cookie: plain } })).statusCode,
      303,
    );
    const page = await https.inject({ url: "/users" });
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? "";
    const out = await https.inject({
      method: "POST",
      url: "/auth/sign-out",
      headers: { ...FORM_HEADERS, origin: "https://d111.cloudfront.net" },
      payload: form({ _csrf: token }),
    });
    assert.equal(out.statusCode, 303);
    assert.match(String(out.headers["set-cookie"]), /^__Host-fleetline\.session=;/);
  });
});

describe("notices", () => {
  test("only the known notices are shown; ?done=constructor prints nothing", async () => {
    assert.match((await t.inject({ url: "/users?done=created" })).body, /User created\./);
    for (const done of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      const res = await t.inject({ url: `/users?done=${done}` });
      assert.equal(res.statusCode, 200);
      assert.doesNotMatch(res.body, /class="notice"/, done);
      assert.doesNotMatch(res.body, /native code|function/, done);
    }
  });
});
