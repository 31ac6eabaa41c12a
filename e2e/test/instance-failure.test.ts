import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openBrowser } from "./support/browser.js";
import { goto, navigate } from "./support/navigation.js";
import { signIn } from "./support/sign-in.js";
import { healthCheck, startStack } from "./support/stack.js";

describe("an instance dies during the flow", { timeout: 120_000 }, () => {
  test("the load balancer drops it within the health-check window and no user is lost", async (t) => {
    const session = await openBrowser(t);
    if (!session) return;
    const { page } = session;
    const stack = await startStack(t, "file");

    // A first user, created before anything goes wrong.
    await signIn(page, stack, "/users/new");
    await page.getByLabel("First name").fill("Katherine");
    await page.getByLabel("Last name").fill("Johnson");
    const first = await navigate(page, "POST", () =>
      page.getByRole("button", { name: "Create" }).click(),
    );
    assert.equal(first.status, 303);

    // The user opens the form; the instance that served it dies before they submit.
    const form = await goto(page, `${stack.url}/users/new`);
    await page.getByLabel("First name").fill("Dorothy");
    await page.getByLabel("Last name").fill("Vaughan");
    const killedAt = Date.now();
    stack.fleet.signal(form.servedBy, "SIGKILL");
    await stack.loadBalancer.waitForState(form.servedBy, "unhealthy", 10_000);
    const detectedMs = Date.now() - killedAt;
    // Two failed checks: at most two intervals plus one probe timeout, plus scheduling slack.
    const windowMs =
      healthCheck.intervalMs * healthCheck.unhealthyThreshold + healthCheck.timeoutMs + 250;
    assert.ok(detectedMs <= windowMs, `unhealthy after ${detectedMs} ms (window ${windowMs} ms)`);

    for (let i = 0; i < 4; i += 1) {
      const res = await fetch(`${stack.url}/health`);
      await res.text();
      assert.notEqual(res.headers.get("x-served-by"), form.servedBy, "no traffic to the dead one");
    }

    const submitted = await navigate(page, "POST", () =>
      page.getByRole("button", { name: "Create" }).click(),
    );
    assert.equal(submitted.status, 303, "the form from the dead instance is accepted by the other");
    assert.notEqual(submitted.servedBy, form.servedBy);
    await page.getByRole("cell", { name: "Vaughan", exact: true }).waitFor();
    await page.getByRole("cell", { name: "Johnson", exact: true }).waitFor();
  });
});
