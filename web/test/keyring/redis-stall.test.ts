import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import pino from "pino";
import { buildApp } from "../../src/app.js";
import { KeyRing } from "../../src/keyring/key-ring.js";
import { createRedisClient } from "../../src/keyring/redis-client.js";
import { RedisKeyStore } from "../../src/keyring/redis-store.js";
import { UsersRepository } from "../../src/users/repository.js";
import { FORM_HEADERS, form, formSession, signInEveryInject, TEST_CONFIG } from "../helpers/app.js";
import { createUsersTable, startDynalite } from "../helpers/dynalite.js";
import { FaultyProxy } from "../helpers/faulty-proxy.js";
import { redisPrefix, testRedisClient } from "./helpers.js";
import { skipWithoutRedis, TEST_REDIS_HOST, TEST_REDIS_PORT } from "./redis-available.js";

// ioredis, for real, against a Redis that accepts connections and stays silent: the key ring's
// store on AWS is ElastiCache, and a wedged node looks exactly like this.
const skip = await skipWithoutRedis();
const COMMAND_MS = 300;
const CONNECT_MS = 500;
const SLACK_MS = 400;

async function startApp(t: TestContext, proxy: FaultyProxy) {
  const dynalite = await startDynalite();
  t.after(() => dynalite.stop());
  await createUsersTable(dynalite.endpoint);
  const logger = pino({ level: "silent" });
  const redis = createRedisClient({
    host: "127.0.0.1",
    port: proxy.port,
    logger,
    connectTimeoutMs: CONNECT_MS,
    commandTimeoutMs: COMMAND_MS,
    maxReconnectDelayMs: 200,
  });
  const prefix = redisPrefix(t);
  const opened = performance.now();
  const keyRing = await KeyRing.open({
    store: new RedisKeyStore({ redis, prefix, logger }),
    logger,
  });
  const openMs = performance.now() - opened;
  const users = new UsersRepository({
    tableName: "Users",
    region: "us-east-1",
    endpoint: dynalite.endpoint,
  });
  const app = await buildApp(
    { ...TEST_CONFIG, KEYRING_STORE: "redis" },
    { users, keyRing, instanceId: "redis-stall-1", logger },
  );
  t.after(async () => {
    await app.close();
    await keyRing.close();
    users.close();
  });
  const cookie = signInEveryInject(app, keyRing, "redis-stall-operator");
  return { app, keyRing, openMs, cookie, prefix };
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

test("with Redis silent, forms keep working from cached keys, nothing waits past the command timeout, hung sockets are dropped, and readiness recovers", {
  skip,
  timeout: 30_000,
}, async (t) => {
  const proxy = await FaultyProxy.start({
    target: { host: TEST_REDIS_HOST, port: TEST_REDIS_PORT },
  });
  t.after(() => proxy.close());
  const { app, cookie } = await startApp(t, proxy);
  const session = formSession(await app.inject({ url: "/users/new" }), cookie);

  proxy.setMode("blackhole");
  // A token signed by the cached key still verifies: no Redis call on the request path.
  const created = await timed(() =>
    app.inject({
      method: "POST",
      url: "/users",
      headers: { ...FORM_HEADERS, cookie: session.cookie },
      payload: form({ _csrf: session.token, firstName: "Silent", lastName: "Redis" }),
    }),
  );
  assert.equal(created.value.statusCode, 303);
  // An unknown key id makes the ring ask Redis: that wait is bounded by the command timeout.
  const forged = session.token.replace(/^(v\d+)\.[^.]+\./, "$1.UnknownKeyId0001.");
  assert.notEqual(forged, session.token, "the token format changed: the forgery no longer applies");
  const unknown = await timed(() =>
    app.inject({
      method: "POST",
      url: "/users",
      headers: { ...FORM_HEADERS, cookie: session.cookie },
      payload: form({ _csrf: forged, firstName: "Forged", lastName: "Token" }),
    }),
  );
  assert.equal(unknown.value.statusCode, 403);
  assert.ok(unknown.ms < COMMAND_MS + SLACK_MS, `unknown-key refresh took ${unknown.ms} ms`);
  const ready = await timed(() => app.inject({ url: "/health/ready" }));
  assert.equal(ready.value.statusCode, 503);
  assert.deepEqual(ready.value.json().checks, { dynamodb: "ok", keystore: "down" });
  assert.ok(ready.ms < COMMAND_MS + SLACK_MS, `readiness took ${ready.ms} ms`);

  // ioredis destroys a socket that had a command out and heard nothing (socketTimeout), so the
  // black-holed connection does not stay its connection for ever.
  const deadline = Date.now() + CONNECT_MS + 2000;
  while (proxy.clientClosedWhileStalled === 0) {
    assert.ok(Date.now() < deadline, "ioredis kept its silent socket");
    await delay(50);
  }

  proxy.setMode("pass");
  const recovered = await timed(async () => {
    for (;;) {
      const res = await app.inject({ url: "/health/ready" });
      if (res.statusCode === 200) return res;
      await delay(50);
    }
  });
  t.diagnostic(`Redis silent → answering: readiness ok again after ${recovered.ms.toFixed(0)} ms`);
  assert.ok(recovered.ms < 3000, `recovery took ${recovered.ms} ms`);
});

test("a start with Redis silent is not held up: the ring opens on a local key within the bounds, and publishes it once Redis answers", {
  skip,
  timeout: 30_000,
}, async (t) => {
  const proxy = await FaultyProxy.start({
    target: { host: TEST_REDIS_HOST, port: TEST_REDIS_PORT },
    mode: "blackhole",
  });
  t.after(() => proxy.close());
  const { app, keyRing, openMs, prefix } = await startApp(t, proxy);
  t.diagnostic(`ring opened on a silent Redis in ${openMs.toFixed(0)} ms`);
  assert.ok(openMs < 2 * COMMAND_MS + CONNECT_MS + SLACK_MS, `open took ${openMs} ms`);
  assert.equal((await app.inject({ url: "/users/new" })).statusCode, 200);
  proxy.setMode("pass");
  const deadline = Date.now() + 5000;
  while ((await app.inject({ url: "/health/ready" })).statusCode !== 200) {
    assert.ok(Date.now() < deadline, "not ready 5 s after Redis answered");
    await delay(50);
  }
  await keyRing.refresh();
  const inspect = testRedisClient();
  t.after(() => inspect.disconnect());
  assert.ok(
    (await inspect.hkeys(`${prefix}:keys`)).includes(keyRing.signingKey().id),
    "the key the ring signed with on its own is in Redis now",
  );
});
