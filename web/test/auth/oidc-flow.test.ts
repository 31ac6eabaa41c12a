import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
// The local stack's provider: a real oidc-provider, not a mock (local/ owns it for `npm start`).
import { type LocalOidcProvider, startLocalOidcProvider } from "@fleetline/local/oidc-provider";
import { freePort } from "@fleetline/local/ports";
import { signInOverHttp } from "@fleetline/local/sign-in-client";
import { startTestApp, type TestApp } from "../helpers/app.js";

let provider: LocalOidcProvider;
let t: TestApp;
let origin: string;

before(async () => {
  const port = await freePort("127.0.0.1");
  origin = `http://127.0.0.1:${port}`;
  provider = await startLocalOidcProvider({ webOrigins: [origin] });
  t = await startTestApp({
    OIDC_ISSUER: provider.issuer,
    OIDC_CLIENT_ID: provider.clientId,
    PUBLIC_ORIGIN: [origin],
  });
  await t.app.listen({ host: "127.0.0.1", port });
});
after(async () => {
  await t.close();
  await provider.stop();
});

const noRedirect = { redirect: "manual" } as const;

describe("sign-in through a real OpenID provider", () => {
  test("code flow with PKCE, state and nonce ends with a session and back on the page asked for", async () => {
    const anonymous = await fetch(`${origin}/users/new`, noRedirect);
    assert.equal(anonymous.status, 303);
    const returnTo = new URL(anonymous.headers.get("location") ?? "", origin).searchParams.get(
      "returnTo",
    );
    assert.equal(returnTo, "/users/new");

    const start = await fetch(`${origin}/auth/sign-in?returnTo=%2Fusers%2Fnew`, noRedirect);
    assert.equal(start.status, 303);
    const authorize = new URL(start.headers.get("location") ?? "");
    assert.equal(authorize.origin, provider.issuer, "sent to the provider");
    assert.equal(authorize.searchParams.get("client_id"), provider.clientId);
    assert.equal(authorize.searchParams.get("redirect_uri"), `${origin}/auth/callback`);
    assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
    assert.match(authorize.searchParams.get("code_challenge") ?? "", /^[A-Za-z0-9_-]{43}$/);
    assert.ok(authorize.searchParams.get("state"));
    assert.ok(authorize.searchParams.get("nonce"));
    const flowCookie = start.headers.getSetCookie()[0] ?? "";
    assert.match(flowCookie, /^fleetline\.sign-in=f1\./);
    assert.match(flowCookie, /HttpOnly/);
    assert.match(flowCookie, /SameSite=Lax/);
    assert.doesNotMatch(flowCookie, /Secure/, "plain http origin: no Secure flag");

    const result = await signInOverHttp({
      siteUrl: origin,
      email: provider.operator.email,
      password: provider.operator.password,
      returnTo: "/users/new",
    });
    assert.equal(result.location, "/users/new");
    const session = result.callbackSetCookie.find((c) => c.startsWith("fleetline.session="));
    assert.ok(session, "the callback sets the session cookie");
    assert.match(session, /HttpOnly/);
    assert.match(session, /SameSite=Lax/);
    assert.match(session, /Max-Age=28800/);
    const page = await fetch(`${origin}/users/new`, { headers: { cookie: result.cookie } });
    assert.equal(page.status, 200);
    const body = await page.text();
    assert.match(body, /data-testid="signed-in-as">operator@fleetline\.local</);
    assert.match(body, /name="_csrf"/);
  });

  test("a wrong password gets no session", async () => {
    await assert.rejects(
      signInOverHttp({ siteUrl: origin, email: provider.operator.email, password: "wrong" }),
      /interaction\/[^ ]+\/login → 401/,
    );
  });

  test("a callback the browser did not start, or with a changed state, is refused", async () => {
    const without = await fetch(`${origin}/auth/callback?code=abc&state=xyz`, noRedirect);
    assert.equal(without.status, 400);
    assert.match(await without.text(), /Sign-in did not complete/);

    const start = await fetch(`${origin}/auth/sign-in`, noRedirect);
    const flow = (start.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    const changed = await fetch(
      `${origin}/auth/callback?code=abc&state=not-the-state&iss=${encodeURIComponent(provider.issuer)}`,
      {
        ...noRedirect,
        headers: { cookie: flow },
      },
    );
    assert.equal(changed.status, 400);
    assert.match(await changed.text(), /could not be verified/);
    assert.ok(t.logs.some((l) => l.msg === "sign-in callback refused"));
  });

  test("a code replayed after it was used is refused", async () => {
    const first = await signInOverHttp({
      siteUrl: origin,
      email: provider.operator.email,
      password: provider.operator.password,
    });
    const callback = first.hops.at(-1);
    assert.ok(callback?.url.includes("/auth/callback"));
    // Same URL again, with a valid flow cookie from a new start: the code was already redeemed.
    const start = await fetch(`${origin}/auth/sign-in`, noRedirect);
    const flow = (start.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
    const replay = await fetch(callback?.url ?? "", { ...noRedirect, headers: { cookie: flow } });
    assert.equal(replay.status, 400);
  });

  test("sign-out ends the provider's session too (RP-initiated logout)", async () => {
    const signedIn = await signInOverHttp({
      siteUrl: origin,
      email: provider.operator.email,
      password: provider.operator.password,
    });
    const page = await (
      await fetch(`${origin}/users`, { headers: { cookie: signedIn.cookie } })
    ).text();
    const token =
      /action="\/auth\/sign-out">[\s\S]*?name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? "";
    const out = await fetch(`${origin}/auth/sign-out`, {
      ...noRedirect,
      method: "POST",
      headers: {
        cookie: signedIn.cookie,
        origin,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ _csrf: token }).toString(),
    });
    assert.equal(out.status, 303);
    const logout = new URL(out.headers.get("location") ?? "");
    assert.equal(logout.origin, provider.issuer);
    assert.equal(logout.searchParams.get("post_logout_redirect_uri"), `${origin}/`);
    assert.equal(logout.searchParams.get("client_id"), provider.clientId);
    const endSession = await fetch(logout, noRedirect);
    assert.equal(endSession.status, 200);
    // The provider's end-session endpoint accepts the request (it confirms in a browser that
    // holds its session cookie; this fetch holds none, so it goes straight to confirming).
    assert.match(await endSession.text(), /\/session\/end\/confirm/);
  });

  test("behind an https public origin the sign-in cookie is __Host-, Secure, and the callback is https", async (c) => {
    const https = await startTestApp({
      OIDC_ISSUER: provider.issuer,
      OIDC_CLIENT_ID: provider.clientId,
      PUBLIC_ORIGIN: ["https://d111.cloudfront.net"],
    });
    c.after(() => https.close());
    const start = await https.app.inject({ url: "/auth/sign-in" });
    assert.equal(start.statusCode, 303);
    const authorize = new URL(String(start.headers.location));
    assert.equal(
      authorize.searchParams.get("redirect_uri"),
      "https://d111.cloudfront.net/auth/callback",
    );
    const cookie = String(start.headers["set-cookie"]);
    assert.match(cookie, /^__Host-fleetline\.sign-in=f1\./);
    assert.match(cookie, /; Path=\//);
    assert.match(cookie, /; HttpOnly/);
    assert.match(cookie, /; Secure/);
    assert.match(cookie, /; SameSite=Lax/);
    assert.doesNotMatch(cookie, /Domain=/);
  });
});
