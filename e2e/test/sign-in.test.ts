import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openBrowser } from "./support/browser.js";
import { goto, navigate } from "./support/navigation.js";
import { screenshot } from "./support/screenshots.js";
import { signIn } from "./support/sign-in.js";
import { startStack } from "./support/stack.js";

describe("operators sign in through the local OpenID provider", { timeout: 120_000 }, () => {
  test("anonymous GETs of users pages go to sign-in; anonymous POSTs change nothing", async (t) => {
    const session = await openBrowser(t);
    if (!session) return;
    const { page, context } = session;
    const stack = await startStack(t, "file");

    assert.equal((await goto(page, `${stack.url}/`)).status, 200, "the home page is public");
    for (const path of ["/users", "/users/new", "/users/some-id/edit", "/users/some-id/delete"]) {
      await page.goto(`${stack.url}${path}`);
      await page.waitForURL((url) => url.origin === stack.oidc.issuer);
      await page.getByRole("heading", { name: "Sign in to fleetline" }).waitFor();
      assert.doesNotMatch(await page.content(), /<table/);
    }

    // A page on another site posting into ours, and a script without any cookie.
    for (const target of ["/users", "/users/some-id", "/users/some-id/delete"]) {
      const res = await context.request.post(`${stack.url}${target}`, {
        form: { firstName: "Mallory", lastName: "Anonymous", version: "1" },
        maxRedirects: 0,
      });
      assert.equal(res.status(), 403, target);
      assert.match(await res.text(), /Sign in first/);
    }

    await signIn(page, stack, "/users");
    await page.getByText("No users yet.").waitFor();
  });

  test("signing in returns to the page asked for; signing out ends both sessions", async (t) => {
    const session = await openBrowser(t);
    if (!session) return;
    const { page } = session;
    const stack = await startStack(t, "file");

    await signIn(page, stack, "/users/new");
    assert.equal(await page.getByTestId("signed-in-as").textContent(), stack.oidc.operator.email);
    await screenshot(page, "signed-in");

    const out = await navigate(page, "POST", () =>
      page.getByRole("button", { name: "Sign out" }).click(),
    );
    assert.equal(out.status, 303);
    // The provider asks to confirm ending its own session, then sends the browser home.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${stack.url}/`);
    await page.getByRole("link", { name: "Sign in" }).waitFor();

    // Both sessions are gone: a users page asks for the password again.
    await page.goto(`${stack.url}/users`);
    await page.waitForURL((url) => url.origin === stack.oidc.issuer);
    await page.getByLabel("Password").waitFor();
  });

  test("a wrong password is refused at the provider and no session is made", async (t) => {
    const session = await openBrowser(t);
    if (!session) return;
    const { page, context } = session;
    const stack = await startStack(t, "file");
    await page.goto(`${stack.url}/users`);
    await page.waitForURL((url) => url.origin === stack.oidc.issuer);
    await page.getByLabel("E-mail").fill(stack.oidc.operator.email);
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").getByText("Wrong e-mail or password.").waitFor();
    const cookies = await context.cookies(stack.url);
    assert.equal(cookies.filter((c) => c.name.endsWith("fleetline.session")).length, 0);
  });
});
