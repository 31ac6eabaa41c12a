import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { FaultyProxy, type ProxyMode } from "@fleetline/web/testing/faulty-proxy";
import { testRedisClient } from "@fleetline/web/testing/keyring";
import { skipWithoutRedis, TEST_REDIS_HOST, TEST_REDIS_PORT } from "@fleetline/web/testing/redis";
import { startWebProcess, type WebProcess } from "@fleetline/web/testing/web-process";
import { startDynamo } from "./support/cluster.js";
import { operatorCookie } from "./support/operator-session.js";
import { fetchForm, postForm } from "./support/traffic.js";

// Dependencies that accept connections and then stall, answer late or reset, under a real web
// process with its production defaults: REQUEST_DEADLINE_MS 3000, DynamoDB attempts of 1 s.
const DEADLINE_MS = 3000;
/** A process on a shared 2-core machine answering 60 requests at once. */
const SLACK_MS = 700;
const CONCURRENT = 60;

interface Answer {
  readonly status: number;
  readonly title: string;
  readonly ms: number;
}

/** The signed-in operator's session cookie for the instance under test (set by startInstance). */
let cookie = "";

async function get(url: string): Promise<Answer> {
  const started = performance.now();
  try {
    const res = await fetch(url, { headers: { cookie }, signal: AbortSignal.timeout(15_000) });
    const body = await res.text();
    return {
      status: res.status,
      title: /<title>([^<]*)<\/title>/.exec(body)?.[1] ?? body.slice(0, 80),
      ms: performance.now() - started,
    };
  } catch (error) {
    return { status: 0, title: String(error), ms: performance.now() - started };
  }
}

const burst = (url: string, n: number) => Promise.all(Array.from({ length: n }, () => get(url)));

/** Time from now until a burst of `n` all answers 200. */
async function recovery(url: string, n: number, limitMs: number): Promise<number> {
  const started = performance.now();
  for (;;) {
    const answers = await burst(url, n);
    if (answers.every((a) => a.status === 200)) return performance.now() - started;
    assert.ok(performance.now() - started < limitMs, `still failing ${limitMs} ms after recovery`);
    await delay(100);
  }
}

function summary(answers: readonly Answer[]): string {
  const counts = new Map<string, number>();
  for (const a of answers)
    counts.set(`${a.status} ${a.title}`, (counts.get(`${a.status} ${a.title}`) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${v}× ${k}`).join("; ");
}

/** dynalite behind a faulty proxy, and one web instance reaching DynamoDB through it. */
async function startInstance(
  t: TestContext,
  mode: { slowMs?: number; resetAfterBytes?: number } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), "fleetline-slow-"));
  const dynamo = await startDynamo(join(dir, "data"));
  const proxy = await FaultyProxy.start({
    target: { host: "127.0.0.1", port: dynamo.port },
    ...mode,
  });
  const web: WebProcess = await startWebProcess({
    INSTANCE_ID: "slow-web-1",
    DYNAMODB_ENDPOINT: proxy.url,
    USERS_TABLE: "Users",
    KEYRING_STORE: "file",
    KEYRING_DIR: join(dir, "keys"),
  });
  t.after(async () => {
    await web.stop();
    await proxy.close();
    await dynamo.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  cookie = await operatorCookie({ kind: "file", dir: join(dir, "keys") });
  return { web, proxy, dynamo };
}

test(`with DynamoDB accepting connections and never answering, ${CONCURRENT} concurrent requests to one instance all get the 503 page within the deadline, and all succeed again within seconds of recovery`, {
  timeout: 90_000,
}, async (t) => {
  const { web, proxy } = await startInstance(t);
  const form = await fetchForm(`${web.url}/users/new`, cookie);
  assert.equal(
    (
      await postForm(`${web.url}/users`, form, {
        firstName: "Before",
        lastName: "Stall",
        _csrf: form.token,
      })
    ).status,
    303,
  );
  assert.ok(
    (await burst(`${web.url}/users`, 20)).every((a) => a.status === 200),
    "warm-up",
  );

  proxy.setMode("blackhole");
  const stalled = await burst(`${web.url}/users`, CONCURRENT);
  const slowest = Math.max(...stalled.map((a) => a.ms));
  t.diagnostic(
    `stalled: ${summary(stalled)}; slowest ${slowest.toFixed(0)} ms (deadline ${DEADLINE_MS} ms)`,
  );
  assert.ok(
    stalled.every((a) => a.status === 503),
    summary(stalled),
  );
  assert.ok(slowest < DEADLINE_MS + SLACK_MS, `slowest answer ${slowest} ms`);

  // Readiness tells the truth, fast, and says only ok/down.
  const ready = await fetch(`${web.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
  const readyBody = await ready.text();
  assert.equal(ready.status, 503);
  assert.deepEqual(JSON.parse(readyBody).checks, { dynamodb: "down", keystore: "ok" });
  assert.doesNotMatch(readyBody, /127\.0\.0\.1|Timeout|ECONN|ms/);
  // Pages without the store are unaffected.
  assert.equal((await get(`${web.url}/`)).status, 200);

  await delay(200);
  assert.equal(proxy.open.stalled, 0, "the SDK kept black-holed sockets in its pool");
  t.diagnostic(`${proxy.clientClosedWhileStalled} hung sockets destroyed by the web`);

  proxy.setMode("pass");
  const recoveredMs = await recovery(`${web.url}/users`, CONCURRENT, 10_000);
  t.diagnostic(`recovered: ${CONCURRENT} concurrent all 200 within ${recoveredMs.toFixed(0)} ms`);
  assert.ok(recoveredMs < 3000, `recovery took ${recoveredMs} ms`);
  assert.ok(web.alive());
});

for (const [mode, options] of [
  ["slow", { slowMs: 2 * DEADLINE_MS }],
  ["reset", { resetAfterBytes: 20 }],
] as const satisfies ReadonlyArray<readonly [ProxyMode, object]>) {
  test(`with DynamoDB ${mode === "slow" ? "answering after the deadline" : "resetting mid-response"}, pages fail fast with the 503 page and serve again once it is healthy`, {
    timeout: 60_000,
  }, async (t) => {
    const { web, proxy } = await startInstance(t, options);
    assert.ok(
      (await burst(`${web.url}/users`, 5)).every((a) => a.status === 200),
      "warm-up",
    );
    proxy.setMode(mode);
    const answers = await burst(`${web.url}/users`, 20);
    const slowest = Math.max(...answers.map((a) => a.ms));
    t.diagnostic(`${mode}: ${summary(answers)}; slowest ${slowest.toFixed(0)} ms`);
    assert.ok(
      answers.every((a) => a.status === 503),
      summary(answers),
    );
    assert.ok(slowest < DEADLINE_MS + SLACK_MS, `slowest ${slowest} ms`);
    proxy.setMode("pass");
    const recoveredMs = await recovery(`${web.url}/users`, 20, 10_000);
    t.diagnostic(`${mode}: recovered within ${recoveredMs.toFixed(0)} ms`);
    assert.ok(recoveredMs < 3000);
  });
}

const redisSkip = await skipWithoutRedis();

test("with the Redis key store accepting connections and staying silent, forms keep working, readiness says keystore down within its budget, and recovers", {
  timeout: 60_000,
  skip: redisSkip,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "fleetline-slow-redis-"));
  const dynamo = await startDynamo(join(dir, "data"));
  const proxy = await FaultyProxy.start({
    target: { host: TEST_REDIS_HOST, port: TEST_REDIS_PORT },
  });
  const prefix = `fleetline-test-slow-redis-${process.pid}-${Date.now()}`;
  const web = await startWebProcess({
    INSTANCE_ID: "slow-redis-1",
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    USERS_TABLE: "Users",
    KEYRING_STORE: "redis",
    KEYRING_PREFIX: prefix,
    REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
  });
  t.after(async () => {
    await web.stop();
    await proxy.close();
    await dynamo.stop();
    rmSync(dir, { recursive: true, force: true });
    // The Redis is shared: leave nothing behind under our prefix.
    const redis = testRedisClient();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  cookie = await operatorCookie({
    kind: "redis",
    prefix,
    redis: { url: `redis://127.0.0.1:${proxy.port}` },
  });
  const form = await fetchForm(`${web.url}/users/new`, cookie);

  proxy.setMode("blackhole");
  const started = performance.now();
  const created = await postForm(`${web.url}/users`, form, {
    firstName: "Silent",
    lastName: "Cache",
    _csrf: form.token,
  });
  assert.equal(created.status, 303, "a token signed by a cached key needs no Redis");
  const ready = await fetch(`${web.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
  const readyMs = performance.now() - started;
  assert.equal(ready.status, 503);
  assert.deepEqual(((await ready.json()) as { checks: unknown }).checks, {
    dynamodb: "ok",
    keystore: "down",
  });
  t.diagnostic(`Redis silent: POST 303 and readiness 503 within ${readyMs.toFixed(0)} ms`);
  // REDIS_COMMAND_TIMEOUT_MS (1 s) bounds the ping; the readiness budget is 2 s.
  assert.ok(readyMs < 2000 + SLACK_MS, `took ${readyMs} ms`);

  proxy.setMode("pass");
  const upAt = performance.now();
  for (;;) {
    const res = await fetch(`${web.url}/health/ready`, { signal: AbortSignal.timeout(5000) });
    if (res.status === 200) break;
    assert.ok(performance.now() - upAt < 8000, "keystore still down 8 s after Redis answered");
    await delay(100);
  }
  t.diagnostic(`Redis answering: ready again after ${(performance.now() - upAt).toFixed(0)} ms`);
  assert.ok(web.alive());
});
