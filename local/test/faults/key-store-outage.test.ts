import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { startPrivateRedis } from "@fleetline/local/redis-server";
import { startCluster, type WebInstance } from "./support/cluster.js";
import { skipWithoutRedisServer } from "./support/redis-server.js";
import { describeFailures, fetchForm, postForm, Traffic } from "./support/traffic.js";

interface Readiness {
  readonly status: number;
  readonly keystore: string;
}

async function readiness(instance: WebInstance): Promise<Readiness> {
  const res = await fetch(`${instance.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json()) as { checks?: { keystore?: string } };
  return { status: res.status, keystore: body.checks?.keystore ?? "" };
}

async function waitForReadiness(
  instance: WebInstance,
  want: (r: Readiness) => boolean,
  timeoutMs: number,
): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await readiness(instance);
    if (want(r)) return r;
    if (Date.now() > deadline) {
      throw new Error(`${instance.id} readiness still ${JSON.stringify(r)} after ${timeoutMs} ms`);
    }
    await delay(200);
  }
}

test("with the Redis key store unreachable, tokens in flight still verify from cached keys and readiness reports it, then recovers", {
  timeout: 120_000,
  skip: skipWithoutRedisServer(),
}, async (t) => {
  const redis = await startPrivateRedis();
  t.after(() => redis.stop());
  const cluster = await startCluster(t, {
    instances: 2,
    keyringStore: "redis",
    redisUrl: redis.url,
  });
  // Forms opened on each instance before the outage, posted during and after it.
  const before = await Promise.all(
    cluster.instances.map((i) => fetchForm(`${i.url}/users/new`, cluster.cookie)),
  );
  for (const i of cluster.instances) {
    assert.equal((await readiness(i)).status, 200);
  }
  const traffic = await Traffic.start({
    url: cluster.lbUrl,
    tag: `redis-${Date.now()}`,
    cookie: cluster.cookie,
  });
  t.after(() => traffic.stop());
  await delay(500);

  await redis.stop();
  for (const instance of cluster.instances) {
    const down = await waitForReadiness(instance, (r) => r.status === 503, 10_000);
    assert.match(down.keystore, /^down/);
  }
  // Each instance verifies the other's tokens, and issues new ones, without its store.
  const [a, b] = cluster.instances;
  assert.ok(a && b);
  for (const [form, target] of [
    [before[0], b],
    [before[1], a],
  ] as const) {
    assert.ok(form);
    const res = await postForm(`${target.url}/users`, form, {
      firstName: "During",
      lastName: "Outage",
      _csrf: form.token,
    });
    assert.equal(res.status, 303, `token from before the outage refused by ${target.id}`);
  }
  const fresh = await fetchForm(`${a.url}/users/new`, cluster.cookie);
  const crossed = await postForm(`${b.url}/users`, fresh, {
    firstName: "Fresh",
    lastName: "Token",
    _csrf: fresh.token,
  });
  assert.equal(crossed.status, 303, "a token issued during the outage was refused elsewhere");
  await delay(1000);

  await redis.start();
  for (const instance of cluster.instances) {
    await waitForReadiness(instance, (r) => r.status === 200 && r.keystore === "ok", 15_000);
  }
  await traffic.stop();

  for (const [form, target] of [
    [before[0], a],
    [before[1], b],
  ] as const) {
    assert.ok(form);
    const res = await postForm(`${target.url}/users`, form, {
      firstName: "After",
      lastName: "Outage",
      _csrf: form.token,
    });
    assert.equal(res.status, 303);
  }
  for (const i of cluster.instances) assert.ok(i.alive(), `${i.id} exited`);
  const failures = traffic.failures();
  t.diagnostic(
    `${traffic.count()} requests through the outage (${traffic.acknowledged.size} acknowledged writes); failures: ${describeFailures(failures)}`,
  );
  assert.equal(failures.length, 0, `failed requests: ${describeFailures(failures)}`);
});
