import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { KeyRing } from "../../src/keyring/key-ring.js";
import { createRedisClient } from "../../src/keyring/redis-client.js";
import { RedisKeyStore } from "../../src/keyring/redis-store.js";
import {
  barrier,
  ControlledStore,
  closedPort,
  loggedRecovery,
  loggedStoreError,
  RedisRelay,
  recordingLogger,
  redisPrefix,
  testRedisClient,
  waitFor,
} from "./helpers.js";
import { skipWithoutRedis, TEST_REDIS_HOST } from "./redis-available.js";

const skip = await skipWithoutRedis();
const HOUR = 3_600_000;

/** A ring with its own client, as another instance would have; the timer never fires in a test. */
async function openRing(
  t: TestContext,
  prefix: string,
  port?: number,
  afterFirstLoad?: () => Promise<void>,
): Promise<{ ring: KeyRing; store: ControlledStore; logger: ReturnType<typeof recordingLogger> }> {
  const logger = recordingLogger();
  const redis = port === undefined ? testRedisClient() : relayClient(port, logger);
  const store = new ControlledStore(new RedisKeyStore({ redis, prefix, logger }));
  store.afterFirstLoad = afterFirstLoad;
  const ring = await KeyRing.open({ store, logger, refreshIntervalMs: HOUR });
  t.after(() => ring.close());
  return { ring, store, logger };
}

function relayClient(port: number, logger: ReturnType<typeof recordingLogger>) {
  // Short timeouts keep outage tests quick; production defaults are 2 s connect, 1 s command.
  return createRedisClient({
    host: TEST_REDIS_HOST,
    port,
    logger,
    connectTimeoutMs: 500,
    commandTimeoutMs: 300,
    maxReconnectDelayMs: 200,
  });
}

async function storedIds(prefix: string): Promise<string[]> {
  const redis = testRedisClient();
  try {
    return (await redis.hkeys(`${prefix}:keys`)).sort();
  } finally {
    redis.disconnect();
  }
}

test("two rings that both find the Redis empty each mint a key, then converge on one", {
  skip,
}, async (t) => {
  const prefix = redisPrefix(t);
  // Both first loads return before either ring writes: the race ASP.NET loses for a day.
  const lineUp = barrier(2);
  const [a, b] = await Promise.all([
    openRing(t, prefix, undefined, lineUp),
    openRing(t, prefix, undefined, lineUp),
  ]);
  assert.equal((await storedIds(prefix)).length, 2, "each ring minted and stored its own key");
  // Whichever each signs with, the other verifies it at once.
  assert.ok(await b.ring.resolve(a.ring.signingKey().id));
  assert.ok(await a.ring.resolve(b.ring.signingKey().id));
  await Promise.all([a.ring.refresh(), b.ring.refresh()]);
  assert.equal(a.ring.signingKey().id, b.ring.signingKey().id);
  for (const id of await storedIds(prefix)) {
    assert.ok(a.ring.find(id) && b.ring.find(id), "both rings hold both keys");
  }
});

test("many rings racing on an empty Redis never overwrite each other's keys", {
  skip,
}, async (t) => {
  const prefix = redisPrefix(t);
  const rings = await Promise.all(Array.from({ length: 6 }, () => openRing(t, prefix)));
  const ids = await storedIds(prefix);
  for (const { ring } of rings) {
    assert.ok(ids.includes(ring.signingKey().id), "every signing key is in Redis");
  }
  await Promise.all(rings.map(({ ring }) => ring.refresh()));
  const chosen = new Set(rings.map(({ ring }) => ring.signingKey().id));
  assert.equal(chosen.size, 1, "all converge on one signing key");
});

test("a key minted by one ring is resolved by another at once through refresh-on-unknown", {
  skip,
}, async (t) => {
  const prefix = redisPrefix(t);
  const a = await openRing(t, prefix);
  const b = await openRing(t, prefix);
  const minted = await a.ring.rotate();
  assert.equal(b.ring.find(minted.id), undefined);
  const loadsBefore = b.store.loads;
  const found = await b.ring.resolve(minted.id);
  assert.equal(found?.id, minted.id);
  assert.ok(found?.secret.equals(minted.secret));
  assert.equal(b.store.loads - loadsBefore, 1, "found by exactly one unknown-id refresh");
});

test("a revocation by one ring reaches another on its next refresh", { skip }, async (t) => {
  const prefix = redisPrefix(t);
  const a = await openRing(t, prefix);
  const b = await openRing(t, prefix);
  const key = a.ring.signingKey();
  await a.ring.revoke(key.id);
  await b.ring.refresh();
  assert.equal(b.ring.find(key.id), undefined);
  assert.equal(b.ring.signingKey().id, a.ring.signingKey().id);
});

test("steady-state signing and verifying send nothing to Redis", { skip }, async (t) => {
  const prefix = redisPrefix(t);
  const relay = await RedisRelay.start(t);
  const { ring } = await openRing(t, prefix, relay.port);
  const id = ring.signingKey().id;
  const before = relay.bytesFromClients;
  for (let i = 0; i < 10_000; i++) {
    assert.equal(ring.signingKey().id, id);
    assert.ok(await ring.resolve(id));
  }
  assert.equal(relay.bytesFromClients, before);
  await ring.refresh();
  assert.ok(relay.bytesFromClients > before, "the relay does see a refresh");
});

test("a ring whose Redis is down at open signs locally, then publishes its key when Redis is back", {
  skip,
}, async (t) => {
  const prefix = redisPrefix(t);
  const port = await closedPort();
  const started = Date.now();
  const { ring, logger } = await openRing(t, prefix, port);
  assert.ok(Date.now() - started < 3000, `open took ${Date.now() - started} ms`);
  const local = ring.signingKey();
  assert.ok(ring.find(local.id));
  await assert.rejects(ring.ping());
  assert.ok(loggedStoreError(logger, /ECONNREFUSED/), "the failure is logged");

  await RedisRelay.start(t, port);
  await waitFor(async () => {
    await ring.refresh();
    return loggedRecovery(logger);
  });
  await ring.ping();
  assert.deepEqual(await storedIds(prefix), [local.id]);
  const other = await openRing(t, prefix);
  assert.equal(other.ring.signingKey().id, local.id);
});

test("while Redis is down, cached keys keep verifying and requests do not hang", {
  skip,
}, async (t) => {
  const prefix = redisPrefix(t);
  const relay = await RedisRelay.start(t);
  const { ring, logger } = await openRing(t, prefix, relay.port);
  const key = ring.signingKey();
  await relay.down();

  const started = Date.now();
  await ring.refresh();
  assert.equal(await ring.resolve("UnknownKey0001"), undefined);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  assert.ok(loggedStoreError(logger, /./));
  assert.equal((await ring.resolve(key.id))?.id, key.id);
  assert.equal(ring.signingKey().id, key.id);

  await relay.up();
  await waitFor(async () => {
    await ring.refresh();
    return loggedRecovery(logger);
  });
  assert.equal(ring.signingKey().id, key.id);
});
