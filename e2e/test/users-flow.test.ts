import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openBrowser } from "./support/browser.js";
import { goto, navigate } from "./support/navigation.js";
import { screenshot } from "./support/screenshots.js";
import { signIn } from "./support/sign-in.js";
import { startStack, steerAwayFrom } from "./support/stack.js";

describe("users through the load balancer in Chromium", { timeout: 120_000 }, () => {
  test("create, edit and delete succeed when form and post hit different instances", async (t) => {
    const session = await openBrowser(t);
    if (!session) return;
    const { page } = session;
    const stack = await startStack(t, "file");

    const home = await goto(page, `${stack.url}/`);
    assert.equal(home.status, 200);
    assert.match(home.servedBy, /^web-[12]$/);
    await screenshot(page, "home");

    await signIn(page, stack, "/users");
    const list = await goto(page, `${stack.url}/users`);
    assert.equal(list.status, 200);
    await screenshot(page, "users-empty");

    // Create
    const form = await navigate(page, "GET", () =>
      page.getByRole("link", { name: "Create a user" }).click(),
    );
    assert.equal(form.status, 200);
    await screenshot(page, "user-form");
    await steerAwayFrom(stack, form.servedBy);
    const invalid = await navigate(page, "POST", () =>
      page.getByRole("button", { name: "Create" }).click(),
    );
    assert.equal(invalid.status, 400, "an empty form is a validation error, not a rejection");
    assert.notEqual(invalid.servedBy, form.servedBy);
    await screenshot(page, "user-form-validation-error");

    const retry = await navigate(page, "GET", () => page.goto(`${stack.url}/users/new`));
    await page.getByLabel("First name").fill("Ada");
    await page.getByLabel("Last name").fill("Lovelace");
    await steerAwayFrom(stack, retry.servedBy);
    const created = await navigate(page, "POST", () =>
      page.getByRole("button", { name: "Create" }).click(),
    );
    assert.equal(created.status, 303);
    assert.notEqual(created.servedBy, retry.servedBy, "the POST went to the other instance");
    assert.match(page.url(), /\/users(\?|$)/);
    await page.getByRole("cell", { name: "Lovelace", exact: true }).waitFor();
    await screenshot(page, "users-list");

    // Edit
    const edit = await navigate(page, "GET", () =>
      page.getByRole("link", { name: /Edit/ }).first().click(),
    );
    assert.equal(edit.status, 200);
    await page.getByLabel("Last name").fill("King");
    await steerAwayFrom(stack, edit.servedBy);
    const saved = await navigate(page, "POST", () =>
      page.getByRole("button", { name: "Save" }).click(),
    );
    assert.equal(saved.status, 303);
    assert.notEqual(saved.servedBy, edit.servedBy);
    await page.getByRole("cell", { name: "King", exact: true }).waitFor();
    assert.equal(await page.getByRole("cell", { name: "Lovelace", exact: true }).count(), 0);

    // Delete
    const confirm = await navigate(page, "GET", () =>
      page
        .getByRole("link", { name: /Delete/ })
        .first()
        .click(),
    );
    assert.equal(confirm.status, 200);
    await steerAwayFrom(stack, confirm.servedBy);
    const deleted = await navigate(page, "POST", () =>
      page.getByRole("button", { name: "Delete" }).click(),
    );
    assert.equal(deleted.status, 303);
    assert.notEqual(deleted.servedBy, confirm.servedBy);
    await page.getByText("No users yet.").waitFor();
  });

  test("with the memory key ring a post to the other instance shows the rejection page", async (t) => {
    const session = await openBrowser(t);
    if (!session) return;
    const { page } = session;
    const stack = await startStack(t, "memory");
    await goto(page, `${stack.url}/`);
    await screenshot(page, "home-memory-keyring");
    // Signed in (sessions are shared even here), so the refusal below is the original's bug.
    await signIn(page, stack, "/users");

    const form = await goto(page, `${stack.url}/users/new`);
    assert.equal(form.status, 200);
    await page.getByLabel("First name").fill("Alan");
    await page.getByLabel("Last name").fill("Turing");
    await steerAwayFrom(stack, form.servedBy);
    const rejected = await navigate(page, "POST", () =>
      page.getByRole("button", { name: "Create" }).click(),
    );
    assert.notEqual(rejected.servedBy, form.servedBy);
    assert.equal(rejected.status, 403);
    assert.match(await page.content(), /this form expired or did not come from this site/i);
    await screenshot(page, "rejection");

    // Nothing was written: the list on either instance is empty.
    await goto(page, `${stack.url}/users`);
    await page.getByText("No users yet.").waitFor();
  });
});
