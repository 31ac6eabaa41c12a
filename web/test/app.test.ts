import assert from "node:assert/strict";
import { after, before, describe, type TestContext, test } from "node:test";
import { FORM_HEADERS, form, formSession, startTestApp, type TestApp } from "./helpers/app.js";
import { openSharedRing, redisPrefix, type SharedStore, tempDir } from "./keyring/helpers.js";
import { skipWithoutRedis } from "./keyring/redis-available.js";

const skipRedis = await skipWithoutRedis();

let t: TestApp;
before(async () => {
  t = await startTestApp();
});
after(async () => {
  await t.close();
});

async function newForm() {
  const res = await t.inject({ method: "GET", url: "/users/new" });
  assert.equal(res.statusCode, 200);
  return formSession(res, t.cookie);
}

async function createUser(firstName: string, lastName: string): Promise<string> {
  const s = await newForm();
  const res = await t.inject({
    method: "POST",
    url: "/users",
    headers: { ...FORM_HEADERS, cookie: s.cookie },
    payload: form({ _csrf: s.token, firstName, lastName }),
  });
  assert.equal(res.statusCode, 303, res.body);
  const { users } = await t.users.list(100);
  const user = users.find(
    (u) => u.firstName === firstName.trim() && u.lastName === lastName.trim(),
  );
  assert.ok(user, "created user is in the table");
  return user.id;
}

describe("pages", () => {
  test("home shows the instance id and the client address from a trusted proxy", async () => {
    const res = await t.inject({
      method: "GET",
      url: "/",
      remoteAddress: "127.0.0.1",
      headers: { "x-forwarded-for": "203.0.113.7" },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["x-served-by"], "test-1");
    assert.match(res.body, /data-testid="instance-id">test-1</);
    assert.match(res.body, /data-testid="client-ip">203\.0\.113\.7</);
  });

  test("an untrusted peer cannot spoof its address with X-Forwarded-For", async () => {
    const res = await t.inject({
      method: "GET",
      url: "/",
      remoteAddress: "198.51.100.9",
      headers: { "x-forwarded-for": "203.0.113.7" },
    });
    assert.match(res.body, /data-testid="client-ip">198\.51\.100\.9</);
  });

  test("responses carry security headers and a strict CSP", async () => {
    const res = await t.inject({ method: "GET", url: "/users/new" });
    assert.match(String(res.headers["content-security-policy"]), /script-src 'none'/);
    assert.match(String(res.headers["content-security-policy"]), /frame-ancestors 'none'/);
    assert.equal(res.headers["x-content-type-options"], "nosniff");
    assert.equal(res.headers["x-frame-options"], "SAMEORIGIN");
  });

  test("static assets are served with x-served-by", async () => {
    const res = await t.inject({ method: "GET", url: "/static/site.css" });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /text\/css/);
    assert.equal(res.headers["x-served-by"], "test-1");
  });

  test("privacy and debug pages render", async () => {
    assert.equal((await t.inject({ url: "/privacy" })).statusCode, 200);
    const debug = await t.inject({ url: "/debug", headers: { "x-probe": "<b>hi</b>" } });
    assert.equal(debug.statusCode, 200);
    assert.match(debug.body, /&lt;b&gt;hi&lt;\/b&gt;/);
  });

  test("unknown paths get a 404 page", async () => {
    const res = await t.inject({ url: "/nope" });
    assert.equal(res.statusCode, 404);
    assert.match(res.body, /Page not found/);
  });
});

describe("health", () => {
  test("/health is a cheap liveness answer", async () => {
    const res = await t.inject({ url: "/health" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: "ok", instance: "test-1" });
  });

  test("/health/ready checks DynamoDB and the key store", async () => {
    const res = await t.inject({ url: "/health/ready" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().checks, { dynamodb: "ok", keystore: "ok" });
  });

  test("/health/ready answers the instance itself, also through nginx on 127.0.0.1 (ValidateService)", async () => {
    const local = await t.app.inject({
      url: "/health/ready",
      remoteAddress: "127.0.0.1",
      headers: { "x-forwarded-for": "127.0.0.1" },
    });
    assert.equal(local.statusCode, 200);
    const v6 = await t.app.inject({ url: "/health/ready", remoteAddress: "::1" });
    assert.equal(v6.statusCode, 200);
  });

  test("/health/ready does not exist for a client that came through a proxy from outside, or from another host", async () => {
    for (const request of [
      // ALB → nginx → web: the socket is loopback, the client (from trusted proxies) is not.
      { remoteAddress: "127.0.0.1", headers: { "x-forwarded-for": "203.0.113.9, 10.50.1.20" } },
      { remoteAddress: "10.50.1.20", headers: {} },
      // A client cannot claim loopback through an untrusted hop.
      { remoteAddress: "198.51.100.7", headers: { "x-forwarded-for": "127.0.0.1" } },
    ]) {
      const res = await t.app.inject({ url: "/health/ready", ...request });
      assert.equal(res.statusCode, 404, JSON.stringify(request));
      assert.match(res.body, /Page not found/);
      assert.doesNotMatch(res.body, /dynamodb|keystore/);
    }
  });
});

describe("users", () => {
  test("create, list, edit and delete, each POST answered 303", async () => {
    const id = await createUser("Ada", "Lovelace");
    const list = await t.inject({ url: "/users?done=created" });
    assert.match(list.body, /User created\./);
    assert.match(list.body, /Ada/);

    const edit = await t.inject({ url: `/users/${id}/edit` });
    const s = formSession(edit, t.cookie);
    assert.equal(s.version, "1");
    const save = await t.inject({
      method: "POST",
      url: `/users/${id}`,
      headers: { ...FORM_HEADERS, cookie: s.cookie },
      payload: form({ _csrf: s.token, version: "1", firstName: "Ada", lastName: "King" }),
    });
    assert.equal(save.statusCode, 303);
    assert.equal(save.headers.location, "/users?done=updated");
    assert.equal((await t.users.get(id))?.lastName, "King");
    assert.equal((await t.users.get(id))?.version, 2);

    const confirm = await t.inject({ url: `/users/${id}/delete` });
    const d = formSession(confirm, t.cookie);
    assert.equal(d.version, "2");
    const del = await t.inject({
      method: "POST",
      url: `/users/${id}/delete`,
      headers: { ...FORM_HEADERS, cookie: d.cookie },
      payload: form({ _csrf: d.token, version: "2" }),
    });
    assert.equal(del.statusCode, 303);
    assert.equal(await t.users.get(id), undefined);
  });

  test("validation errors keep the entered values and name each field", async () => {
    const s = await newForm();
    const res = await t.inject({
      method: "POST",
      url: "/users",
      headers: { ...FORM_HEADERS, cookie: s.cookie },
      payload: form({ _csrf: s.token, firstName: "  Grace ", lastName: "   " }),
    });
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /There is a problem/);
    assert.match(res.body, /Last name is required\./);
    assert.match(res.body, /value=" {2}Grace "/);
    assert.match(res.body, /aria-invalid="true"/);
  });

  test("names are trimmed and any script is accepted", async () => {
    const id = await createUser("  Zoë ", "李小龍");
    const user = await t.users.get(id);
    assert.equal(user?.firstName, "Zoë");
    assert.equal(user?.lastName, "李小龍");
  });

  test("a <script> name is stored as typed and shown escaped in the list", async () => {
    const id = await createUser("<script>alert(1)</script>", 'O\'Brien & "Sons"');
    const list = await t.inject({ url: "/users" });
    assert.doesNotMatch(list.body, /<script>alert/);
    assert.match(list.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(list.body, /O&#39;Brien &amp; &quot;Sons&quot;/);
    assert.equal((await t.users.get(id))?.firstName, "<script>alert(1)</script>");
  });

  test("empty and 10 kB names are refused with a message and nothing is stored", async () => {
    const before = (await t.users.list(100)).users.length;
    for (const [firstName, message] of [
      ["", /First name is required\./],
      ["x".repeat(10_240), /First name must be at most 100 characters \(it had 10240\)\./],
    ] as const) {
      const s = await newForm();
      const res = await t.inject({
        method: "POST",
        url: "/users",
        headers: { ...FORM_HEADERS, cookie: s.cookie },
        payload: form({ _csrf: s.token, firstName, lastName: "Valid" }),
      });
      assert.equal(res.statusCode, 400);
      assert.match(res.body, message);
    }
    assert.equal((await t.users.list(100)).users.length, before);
  });

  test("a field sent twice is refused, not half-used", async () => {
    const s = await newForm();
    const res = await t.inject({
      method: "POST",
      url: "/users",
      headers: { ...FORM_HEADERS, cookie: s.cookie },
      payload: form({ _csrf: s.token, firstName: ["A", "B"], lastName: "C" }),
    });
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /First name was sent more than once/);
  });

  test("unknown and malformed ids are 404, including path traversal", async () => {
    for (const url of [
      "/users/00000000-0000-4000-8000-000000000000/edit",
      "/users/..%2F..%2Fetc%2Fpasswd/edit",
      "/users/%00/delete",
    ]) {
      const res = await t.inject({ url });
      assert.equal(res.statusCode, 404, url);
      assert.match(res.body, /Page not found/);
    }
  });

  test("a stale edit gets 409 with the current values and overwrites nothing", async () => {
    const id = await createUser("Alan", "Turing");
    const first = formSession(await t.inject({ url: `/users/${id}/edit` }), t.cookie);
    const second = formSession(await t.inject({ url: `/users/${id}/edit` }), t.cookie);
    const win = await t.inject({
      method: "POST",
      url: `/users/${id}`,
      headers: { ...FORM_HEADERS, cookie: first.cookie },
      payload: form({ _csrf: first.token, version: "1", firstName: "Alan", lastName: "M. Turing" }),
    });
    assert.equal(win.statusCode, 303);
    const lose = await t.inject({
      method: "POST",
      url: `/users/${id}`,
      headers: { ...FORM_HEADERS, cookie: second.cookie },
      payload: form({ _csrf: second.token, version: "1", firstName: "Al", lastName: "Turing" }),
    });
    assert.equal(lose.statusCode, 409);
    assert.match(lose.body, /Someone else changed this user/);
    assert.match(lose.body, /M\. Turing/, "shows the current values");
    assert.match(lose.body, /name="version" value="2"/, "retry starts from the current version");
    const stored = await t.users.get(id);
    assert.equal(stored?.lastName, "M. Turing");
    assert.equal(stored?.firstName, "Alan");
  });

  test("a stale delete gets 409 and the user stays", async () => {
    const id = await createUser("Edsger", "Dijkstra");
    const confirm = formSession(await t.inject({ url: `/users/${id}/delete` }), t.cookie);
    await t.users.update(id, 1, { firstName: "Edsger W.", lastName: "Dijkstra" });
    const res = await t.inject({
      method: "POST",
      url: `/users/${id}/delete`,
      headers: { ...FORM_HEADERS, cookie: confirm.cookie },
      payload: form({ _csrf: confirm.token, version: "1" }),
    });
    assert.equal(res.statusCode, 409);
    assert.match(res.body, /changed by someone else/);
    assert.match(res.body, /Edsger W\./);
    assert.ok(await t.users.get(id));
  });

  test("a missing or non-numeric version is a 400", async () => {
    const id = await createUser("Barbara", "Liskov");
    const s = formSession(await t.inject({ url: `/users/${id}/edit` }), t.cookie);
    for (const version of [undefined, "abc", "0", "-1", "1e3"]) {
      const fields: Record<string, string> = { _csrf: s.token, firstName: "B", lastName: "L" };
      if (version !== undefined) fields.version = version;
      const res = await t.inject({
        method: "POST",
        url: `/users/${id}`,
        headers: { ...FORM_HEADERS, cookie: s.cookie },
        payload: form(fields),
      });
      assert.equal(res.statusCode, 400, `version ${version}`);
      assert.match(res.body, /missing its version field/);
    }
  });

  test("a body over the limit is a 413 page", async () => {
    const s = await newForm();
    const res = await t.inject({
      method: "POST",
      url: "/users",
      headers: { ...FORM_HEADERS, cookie: s.cookie },
      payload: form({ _csrf: s.token, firstName: "x".repeat(40_000), lastName: "y" }),
    });
    assert.equal(res.statusCode, 413);
    assert.match(res.body, /larger than 32 KB/);
  });

  test("a JSON body is a 415 page", async () => {
    const s = await newForm();
    const res = await t.inject({
      method: "POST",
      url: "/users",
      headers: { "content-type": "application/json", cookie: s.cookie },
      payload: JSON.stringify({ firstName: "J", lastName: "S" }),
    });
    assert.equal(res.statusCode, 415);
    assert.match(res.body, /application\/x-www-form-urlencoded/);
  });

  test("a forged page cursor is a 400 page", async () => {
    const res = await t.inject({ url: "/users?cursor=bm90LWpzb24" });
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /page link is not valid/);
  });

  test("a page cursor sent twice is a 400 page saying so, an odd notice is ignored", async () => {
    const twice = await t.inject({ url: "/users?cursor=a&cursor=b" });
    assert.equal(twice.statusCode, 400);
    assert.match(twice.body, /page link is not valid; start again from the first page/);
    const notice = await t.inject({ url: "/users?done=created&done=deleted" });
    assert.equal(notice.statusCode, 200);
    assert.doesNotMatch(notice.body, /class="notice"/);
  });

  test("the list pages through more users than fit on one page", async () => {
    for (let i = 0; i < 12; i++)
      await t.users.create({ firstName: `Page${i}`, lastName: "Walker" });
    // An array, not a Set: a user shown on two pages must fail this test, not collapse into one.
    const seen: string[] = [];
    let url: string | undefined = "/users";
    let pages = 0;
    while (url && pages < 20) {
      const res: { statusCode: number; body: string } = await t.inject({ url });
      assert.equal(res.statusCode, 200);
      for (const m of res.body.matchAll(/<td>(Page\d+)<\/td>/g)) seen.push(m[1] ?? "");
      const next = /href="(\/users\?cursor=[^"]+)" rel="next"/.exec(res.body)?.[1];
      url = next?.replaceAll("&amp;", "&");
      pages++;
    }
    assert.ok(pages >= 3, `several pages (${pages})`);
    assert.deepEqual(
      seen.sort(),
      Array.from({ length: 12 }, (_, i) => `Page${i}`).sort(),
      "every user appears exactly once across pages: none twice, none missing",
    );
  });
});

describe("home page under the memory key ring", () => {
  test("warns that cross-instance posts will be rejected instead of promising they work", async (t) => {
    const memory = await startTestApp({ KEYRING_STORE: "memory" });
    t.after(() => memory.close());
    const res = await memory.app.inject({ url: "/" });
    assert.match(res.body, /keeps its signing keys in its own memory/);
    assert.doesNotMatch(res.body, /Forms still work across instances/);
  });
});

/**
 * Two apps (instances) on one DynamoDB whose rings share a real store: the page's promise is
 * checked by posting a form served by one instance to the other.
 */
async function sharedStoreCheck(
  t: TestContext,
  kind: "file" | "redis",
  shared: SharedStore,
): Promise<void> {
  const a = await startTestApp(
    { KEYRING_STORE: kind },
    { keyRing: await openSharedRing(t, shared), instanceId: "shared-a" },
  );
  t.after(() => a.close());
  const b = await startTestApp(
    { KEYRING_STORE: kind },
    { keyRing: await openSharedRing(t, shared), dynalite: a.dynalite, instanceId: "shared-b" },
  );
  t.after(() => b.close());
  const home = await a.app.inject({ url: "/" });
  assert.match(
    home.body,
    new RegExp(`Forms still work across instances.*<code>${kind}</code>`, "s"),
  );
  const served = formSession(await a.inject({ url: "/users/new" }), a.cookie);
  const posted = await b.app.inject({
    method: "POST",
    url: "/users",
    headers: { ...FORM_HEADERS, cookie: served.cookie },
    payload: form({ _csrf: served.token, firstName: "Across", lastName: kind }),
  });
  assert.equal(posted.statusCode, 303, "a form served by one instance is accepted by the other");
  assert.equal(posted.headers["x-served-by"], "shared-b");
  assert.ok((await b.users.list(100)).users.some((u) => u.lastName === kind));
}

describe("home page under a shared key store", () => {
  test("file store: the page says forms work across instances, and they do", async (t) => {
    await sharedStoreCheck(t, "file", { dir: await tempDir(t) });
  });

  test("redis store: the page says forms work across instances, and they do", {
    skip: skipRedis,
  }, async (t) => {
    await sharedStoreCheck(t, "redis", { redisPrefix: redisPrefix(t) });
  });
});
