import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { startCluster } from "./support/cluster.js";
import {
  describeFailures,
  fetchForm,
  missingWrites,
  postForm,
  Traffic,
} from "./support/traffic.js";

async function get(
  url: string,
  cookie?: string,
): Promise<{ status: number; body: string; retryAfter: string }> {
  const res = await fetch(url, {
    signal: AbortSignal.timeout(10_000),
    ...(cookie ? { headers: { cookie } } : {}),
  });
  return {
    status: res.status,
    body: await res.text(),
    retryAfter: res.headers.get("retry-after") ?? "",
  };
}

test("with dynalite stopped the site answers 503 pages without crashing, and after a restart serves on with every acknowledged write", {
  timeout: 120_000,
}, async (t) => {
  const cluster = await startCluster(t, { instances: 2 });
  const form = await fetchForm(`${cluster.lbUrl}/users/new`, cluster.cookie);
  const created = await postForm(`${cluster.lbUrl}/users`, form, {
    firstName: "Before",
    lastName: "Outage",
    _csrf: form.token,
  });
  assert.equal(created.status, 303);
  const traffic = await Traffic.start({
    url: cluster.lbUrl,
    tag: `dynamo-${Date.now()}`,
    cookie: cluster.cookie,
    readers: 2,
    writers: 3,
  });
  t.after(() => traffic.stop());
  await delay(1000);

  const downAt = traffic.now();
  await cluster.dynamo.stop();
  await delay(300);
  const list = await get(`${cluster.lbUrl}/users`, cluster.cookie);
  assert.equal(list.status, 503);
  assert.match(list.body, /The user store is unavailable/);
  assert.equal(list.retryAfter, "5");
  const refused = await postForm(`${cluster.lbUrl}/users`, form, {
    firstName: "During",
    lastName: "Outage",
    _csrf: form.token,
  });
  assert.equal(refused.status, 503);
  assert.match(refused.body, /The user store is unavailable/);
  for (const instance of cluster.instances) {
    const ready = await get(`${instance.url}/health/ready`);
    assert.equal(ready.status, 503, `${instance.id} /health/ready while DynamoDB is down`);
    assert.match(ready.body, /"dynamodb":"down/);
  }
  // The pages that need no store keep working.
  assert.equal((await get(`${cluster.lbUrl}/`)).status, 200);
  await delay(1500);

  await cluster.dynamo.start();
  const upAt = traffic.now();
  const deadline = Date.now() + 15_000;
  while ((await get(`${cluster.lbUrl}/users`, cluster.cookie)).status !== 200) {
    assert.ok(Date.now() < deadline, "GET /users still failing 15 s after dynalite came back");
    await delay(200);
  }
  for (const instance of cluster.instances) {
    assert.equal((await get(`${instance.url}/health/ready`)).status, 200);
  }
  await delay(1000);
  const recoveredAt = traffic.now();
  await delay(1000);
  await traffic.stop();

  for (const instance of cluster.instances) assert.ok(instance.alive(), `${instance.id} exited`);
  // Only 503s, and only while the store was down or coming back: never a 500 or a lost answer.
  const failures = traffic.failures();
  const unexpected = failures.filter(
    (f) => f.status !== 503 || f.at < downAt || f.at > recoveredAt,
  );
  t.diagnostic(
    `outage ${(upAt - downAt).toFixed(0)} ms; ${traffic.count()} requests, ${traffic.acknowledged.size} acknowledged writes; ` +
      `failures: ${describeFailures(failures)}`,
  );
  assert.deepEqual(unexpected, [], `unexpected failures: ${describeFailures(unexpected)}`);
  assert.ok(failures.length > 0, "no request saw the outage: was the store really down?");
  const items = await cluster.dynamo.scanUsers();
  assert.ok(items.some((i) => i.firstName === "Before"));
  assert.deepEqual(missingWrites(traffic.acknowledged, items), []);
  const writesAfter = traffic.outcomes.filter((o) => o.kind === "write" && o.at > recoveredAt);
  assert.ok(writesAfter.length > 0 && writesAfter.every((o) => o.status === 303));
});
