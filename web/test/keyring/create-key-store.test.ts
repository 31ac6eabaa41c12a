import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { test } from "node:test";
import { createKeyStore, KeyRing } from "../../src/keyring/index.js";
import { recordingLogger, redisPrefix, tempDir, testRedisClient } from "./helpers.js";
import { skipWithoutRedis, TEST_REDIS_HOST, TEST_REDIS_PORT } from "./redis-available.js";

const skip = await skipWithoutRedis();

test("createKeyStore builds a memory store", async (t) => {
  const store = createKeyStore({ kind: "memory", logger: recordingLogger() });
  t.after(() => store.close());
  assert.equal(store.kind, "memory");
  await store.ping();
});

test("createKeyStore builds a file store in the given directory", async (t) => {
  const dir = await tempDir(t);
  const logger = recordingLogger();
  const store = createKeyStore({ kind: "file", dir, logger });
  const ring = await KeyRing.open({ store, logger });
  t.after(() => ring.close());
  assert.equal(store.kind, "file");
  assert.deepEqual(await readdir(dir), [`${ring.signingKey().id}.json`]);
});

test("createKeyStore refuses a file store without a directory and a redis store without options", () => {
  const logger = recordingLogger();
  assert.throws(() => createKeyStore({ kind: "file", logger }), /needs a dir/);
  assert.throws(() => createKeyStore({ kind: "redis", logger }), /needs redis options/);
});

test("createKeyStore builds a redis store from a URL, under the given prefix", {
  skip,
}, async (t) => {
  const prefix = redisPrefix(t);
  const logger = recordingLogger();
  const store = createKeyStore({
    kind: "redis",
    redis: { url: `redis://${TEST_REDIS_HOST}:${TEST_REDIS_PORT}/0` },
    prefix,
    logger,
  });
  const ring = await KeyRing.open({ store, logger });
  t.after(() => ring.close());
  const inspect = testRedisClient();
  t.after(() => inspect.disconnect());
  assert.equal(store.kind, "redis");
  assert.deepEqual(await inspect.hkeys(`${prefix}:keys`), [ring.signingKey().id]);
});
